# A real Django site (sqlite, django.contrib.auth, sessions, CSRF) under
# mod_wsgi: no response ever shows one user's page to another.
#
#   /dj   SharedCache On: Django's own "Vary: Cookie" keeps users apart
#   /djv  SharedCacheVaryByCookie sessionid csrftoken: one entry per user
#   /djb  SharedCacheBypassCookie sessionid: logged-in users never cached
use strict;
use warnings;
use Test::More;
use POSIX ();
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], django => 1,
                               conf => <<'CONF');
<Location /dj>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /djv>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheVaryByCookie sessionid csrftoken
</Location>
<Location /djb>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheBypassCookie sessionid
</Location>
CONF

sub cookie_of {
    my ($res, $name) = @_;
    my $sc = $res->{headers}{'set-cookie'} // '';
    for my $c (ref $sc ? @$sc : ($sc)) {
        return $1 if $c =~ /^\Q$name\E=([^;]*)/;
    }
    return undef;
}

sub name_in { $_[0] =~ /Hello, (\w+)/ ? $1 : '' }

my %session;
for my $user (qw(alice bob)) {
    my $r = $ap->get("/dj/login?user=$user");
    cache_is($r, 'UNCACHEABLE', "logging $user in (Set-Cookie) is never stored");
    $session{$user} = cookie_of($r, 'sessionid');
    ok($session{$user}, "$user has a session");
}
my %as = (
    anonymous => {},
    alice => { Cookie => "sessionid=$session{alice}" },
    bob => { Cookie => "sessionid=$session{bob}" },
);

# Anonymous visitors share one entry.
my $a1 = $ap->get('/dj/whoami');
my $a2 = $ap->get('/dj/whoami');
cache_is($a2, 'HIT', 'anonymous visitors share an entry');
is(name_in($a2->{body}), 'anonymous', 'showing "anonymous"');

# /dj: Django says Vary: Cookie, so each session gets its own variant.
for my $user (qw(alice bob)) {
    my $m = $ap->get('/dj/whoami', %{ $as{$user} });
    my $h = $ap->get('/dj/whoami', %{ $as{$user} });
    is(name_in($m->{body}), $user, "/dj: $user sees $user");
    cache_is($h, 'HIT', "/dj: the second request of $user is a HIT");
    is(name_in($h->{body}), $user, "/dj: and still shows $user");
}
is(name_in($ap->get('/dj/whoami')->{body}), 'anonymous',
   '/dj: anonymous still sees anonymous');

# /djv: keyed by sessionid; an analytics cookie does not split it.
for my $user (qw(alice bob)) {
    $ap->get('/djv/whoami', %{ $as{$user} });
    my $h = $ap->get('/djv/whoami',
                     Cookie => "_ga=GA1.$$; $as{$user}{Cookie}");
    cache_is($h, 'HIT', "/djv: $user with an extra analytics cookie: HIT");
    is(name_in($h->{body}), $user, "/djv: showing $user");
}

# /djb: logged-in users bypass, anonymous ones are cached.
$ap->get('/djb/whoami');
cache_is($ap->get('/djb/whoami'), 'HIT', '/djb: anonymous is a HIT');
for my $user (qw(alice bob)) {
    my $r = $ap->get('/djb/whoami', %{ $as{$user} });
    cache_is($r, 'BYPASS', "/djb: $user is a BYPASS");
    is(name_in($r->{body}), $user, "/djb: and sees $user");
}

# Web cache deception: a logged-in page under a "static" looking URL.
for my $prefix ('/dj', '/djv') {
    for my $path ('/account/x.css', '/account;x.css', '/account%2Fx.css') {
        my $alice = $ap->get("$prefix$path", %{ $as{alice} });
        my $anon = $ap->get("$prefix$path");
        unlike($anon->{body}, qr/alice/,
               "$prefix$path fetched by alice is never served to anonymous"
               . " ($alice->{status}/$anon->{status} $anon->{cache})");
    }
}

# CSRF tokens: Django 3.2 sends the csrftoken cookie again with every page
# that uses a token, so such pages are never stored; collect each
# visitor's own cookie.
sub unsalt {
    # Django's masked token: 32 chars of salt, 32 of cipher.
    my ($t) = @_;
    my $chars = join '', 'a' .. 'z', 'A' .. 'Z', 0 .. 9;
    return '' unless $t && length $t == 64;
    my ($salt, $cipher) = (substr($t, 0, 32), substr($t, 32));
    my $out = '';
    for my $i (0 .. 31) {
        my $x = index $chars, substr($cipher, $i, 1);
        my $y = index $chars, substr($salt, $i, 1);
        $out .= substr($chars, ($x - $y) % length $chars, 1);
    }
    return $out;
}
my %identity;
for my $who (qw(alice bob), map { "visitor$_" } 1 .. 6) {
    my $base = $as{$who} ? $as{$who}{Cookie} : "_ga=$who";
    my $r = $ap->get('/dj/form', Cookie => $base);
    my $csrf = cookie_of($r, 'csrftoken');
    ok($csrf, "$who gets a CSRF cookie");
    $identity{$who} = { cookie => "$base; csrftoken=$csrf",
                        name => $as{$who} ? $who : 'anonymous',
                        secret => unsalt($csrf) };
}

# 1,000 interleaved requests of two users and six anonymous visitors on
# all three mounts, four at a time.
my @paths = ('/dj/whoami', '/djv/whoami', '/djb/whoami', '/dj/form',
             '/djv/form', '/dj/account/x.css');
my @who = sort keys %identity;
my @jobs = map { [ $who[$_ % @who], $paths[($_ * 7) % @paths] ] } 0 .. 999;
my @kids;
for my $k (0 .. 3) {
    pipe(my $rd, my $wr) or die $!;
    my $pid = fork // die $!;
    if (!$pid) {
        close $rd;
        my $ua = HTTP::Tiny->new(keep_alive => 1, timeout => 60);
        my ($bad_name, $bad_csrf, $ok, $hits) = (0, 0, 0, 0);
        for my $i (grep { $_ % 4 == $k } 0 .. $#jobs) {
            my ($who, $path) = @{ $jobs[$i] };
            my $id = $identity{$who};
            my $r = $ua->get($ap->url($path),
                             { headers => { Cookie => $id->{cookie} } });
            $hits++ if ($r->{headers}{'x-sharedcache'} // '') eq 'HIT';
            my $body = $r->{content} // '';
            my ($seen) = $body =~ /(?:Hello, |account of )(\w+)/;
            $bad_name++ if !$seen || $seen ne $id->{name};
            if ($body =~ /name="csrfmiddlewaretoken" value="([^"]+)"/) {
                $bad_csrf++ if unsalt($1) ne $id->{secret};
            }
            $ok++ if $r->{status} == 200;
        }
        print $wr "$ok $bad_name $bad_csrf $hits\n";
        close $wr;
        POSIX::_exit(0);
    }
    close $wr;
    push @kids, [$pid, $rd];
}
my ($ok, $bad_name, $bad_csrf, $hits) = (0, 0, 0, 0);
for (@kids) {
    my $fh = $_->[1];
    my @n = split ' ', (<$fh> // '0 0 0 0');
    $ok += $n[0]; $bad_name += $n[1]; $bad_csrf += $n[2]; $hits += $n[3];
    waitpid $_->[0], 0;
}
is($ok, 1000, '1,000 interleaved requests answered 200');
is($bad_name, 0, 'none shows another user\'s name');
is($bad_csrf, 0, 'no visitor ever gets another visitor\'s CSRF token');
cmp_ok($hits, '>', 300, "and the cache did serve them ($hits HITs)");

$ap->stop;
done_testing;
