# A memcached that answers wrongly on purpose (SCTest::FakeMemcached's
# chaos: another key's value, a repeated earlier reply, a stall or a close
# in the middle of a value) never makes a wrong page, a crash, or a lock
# or counter error that outlives the connection it happened on.  100,000
# requests (SC_CHAOS_REQUESTS; 25,000 under prefork) of cached pages whose bodies name their URL,
# variants, static files, POSTs and tag invalidations go through an Apache
# whose only memcached is the fake; every body must be its URL's, every
# status 200, no child may crash, and no fill lease may be left for
# memcached to expire.  With the chaos off, the cache works at once: every
# URL is a HIT by its second request, without waiting for a lease, and an
# invalidation still turns a HIT into a MISS.  To look into a failure:
# SC_CHAOS_RATE, SC_CHAOS_SEED, and SC_CHAOS_VERBOSE=1 with SC_KEEP=1 (the
# fake's log then has every command beside its wrong answers).
# sc-test: alone (it measures time; make prove runs the others two at a time)
use strict;
use warnings;
use IO::Socket::INET;
use JSON::PP qw(decode_json);
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);
use SCTest;
use SCTest::FakeMemcached;

# Its memcached is the fake alone: the cluster pass (SC_EXTRA_MEMCACHED)
# would run the same thing a third time.
plan skip_all => 'runs in the MPM passes (its memcached is the fake alone)'
    if $ENV{SC_EXTRA_MEMCACHED};

# 100,000 under event; a quarter under prefork, whose run of the same
# chaos (the same seed) mostly repeats it, to keep the suite under its
# time budget.
my $REQUESTS = $ENV{SC_CHAOS_REQUESTS}
               || (SCTest::mpm() eq 'prefork' ? 25_000 : 100_000);
my $RATE = $ENV{SC_CHAOS_RATE} || 0.02;
my $SEED = $ENV{SC_CHAOS_SEED} || 20241125;
my $CLIENTS = 4;
my ($PAGES, $TAGS, $VARIED, $LANGS, $FILES) = (200, 20, 20, 3, 50);

my $mc = SCTest::FakeMemcached->start(quiet => !$ENV{SC_CHAOS_VERBOSE},
                                      chaos => { rate => $RATE,
                                                 seed => $SEED });
my $ap = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
SharedCacheTimeout 50
SharedCacheRetryInterval 0
<Location /app>
    SharedCache On
    SharedCacheTTL 600
    SharedCacheLockTimeout 3
</Location>
<Location /app/admin>
    SharedCache Off
</Location>
<Location /s>
    SharedCache On
    SharedCacheTTL 600
    SharedCacheLockTimeout 3
</Location>
<Location /sc-status>
    SetHandler sharedcache-status
</Location>
CONF

# Static files, each naming its own URL.
my $htdocs = $ap->dir . '/htdocs/s';
mkdir $htdocs or die "$htdocs: $!";
chmod 0755, $htdocs;
for my $n (0 .. $FILES - 1) {
    open my $f, '>', "$htdocs/$n.html" or die $!;
    print $f "static /s/$n.html\n", '.' x (100 + 37 * $n), "\n";
    close $f;
    chmod 0644, "$htdocs/$n.html";
}

# What a request is: [method, target, extra headers, the body it must
# have (a regexp; $1 the app's render token when there is one)].
sub page {
    my ($n) = @_;
    my $t = $n % $TAGS;
    return ['GET', "/app/p/$n?sk=t$t", '',
            qr{\A<html><body>path=/p/$n token=([0-9a-f]{32})</body></html>\n\z}];
}
sub varied {
    my ($n, $l) = @_;
    return ['GET', "/app/v/$n?vary=Accept-Language&reflect=Accept-Language",
            "Accept-Language: l$l\r\n",
            qr{\A<html><body>path=/v/$n token=([0-9a-f]{32})</body></html>\nreflected=l$l\n\z}];
}
sub file {
    my ($n) = @_;
    my $dots = '.' x (100 + 37 * $n);
    return ['GET', "/s/$n.html", '', qr{\Astatic /s/$n\.html\n\Q$dots\E\n\z}];
}
sub post {
    my ($n) = @_;
    my $p = page($n);
    return ['POST', $p->[1],
            "Content-Type: application/x-www-form-urlencoded\r\n"
            . "Content-Length: 3\r\n", $p->[3], 'x=1'];
}
sub invalidate {
    my ($t) = @_;
    return ['GET', "/app/admin/inv$t?inv=t$t&cc=no-store", '',
            qr{\A<html><body>path=/admin/inv$t token=([0-9a-f]{32})</body></html>\n\z}];
}

# The mix: mostly cached pages (hits, with their tags' counters), some
# variants (two lookups) and static files; POSTs invalidate their URL,
# the invalidate header a tag: misses, fill leases and counters.
sub pick {
    my $x = rand();
    return post(int rand $PAGES) if $x < 0.01;
    return invalidate(int rand $TAGS) if $x < 0.013;
    return varied(int rand $VARIED, int rand $LANGS) if $x < 0.093;
    return file(int rand $FILES) if $x < 0.173;
    return page(int rand $PAGES);
}

# One response off a keep-alive connection: (status, headers, body), or
# () when the connection broke.
sub read_response {
    my ($s, $buf) = @_;
    my $end;
    while (($end = index($$buf, "\r\n\r\n")) < 0) {
        sysread($s, $$buf, 65536, length $$buf) or return;
    }
    my $head = substr($$buf, 0, $end + 4, '');
    my ($status) = $head =~ m{\AHTTP/1\.1 (\d{3})} or return;
    my %h;
    $h{lc $1} = $2 while $head =~ /^([^:\r\n]+):[ \t]*([^\r\n]*)\r$/mg;
    my $body = '';
    if (defined $h{'content-length'}) {
        my $len = $h{'content-length'};
        while (length $$buf < $len) {
            sysread($s, $$buf, 65536, length $$buf) or return;
        }
        $body = substr($$buf, 0, $len, '');
    }
    elsif (($h{'transfer-encoding'} // '') =~ /chunked/i) {
        while (1) {
            my $eol;
            while (($eol = index($$buf, "\r\n")) < 0) {
                sysread($s, $$buf, 65536, length $$buf) or return;
            }
            my $size = hex substr($$buf, 0, $eol + 2, '');
            while (length $$buf < $size + 2) {
                sysread($s, $$buf, 65536, length $$buf) or return;
            }
            $body .= substr($$buf, 0, $size, '');
            substr($$buf, 0, 2, '');
            if ($size == 0) {
                # no trailers from the module or the app
                last;
            }
        }
    }
    return ($status, \%h, $body);
}

# Send n requests over one keep-alive connection (a new one if Apache
# closes it); check each.  Returns a summary as lines of text.
sub client {
    my ($id, $n) = @_;
    srand($SEED + $id);
    my (%count, @wrong, $s, $buf);
    my $host = '127.0.0.1:' . $ap->port;
    my ($slow, $max) = (0, 0);
    for my $i (1 .. $n) {
        my ($method, $target, $hdr, $want, $body) = @{ pick() };
        my $t0 = time;
        my ($status, $h, $got);
        for my $try (1, 2) {
            unless ($s) {
                $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                           PeerPort => $ap->port)
                    or die "connect: $!";
                $buf = '';
            }
            # the Host HTTP::Tiny sends, as below: the same cache keys
            syswrite $s, "$method $target HTTP/1.1\r\nHost: $host\r\n"
                . "$hdr\r\n" . ($body // '');
            ($status, $h, $got) = read_response($s, \$buf);
            last if defined $status;
            undef $s;    # closed by Apache (keep-alive timeout): again
        }
        my $ms = (time - $t0) * 1000;
        $max = $ms if $ms > $max;
        $slow++ if $ms > 1000;
        unless (defined $status) {
            $count{broken}++;
            push @wrong, "$method $target: no response" if @wrong < 20;
            next;
        }
        undef $s if ($h->{connection} // '') =~ /close/i;
        my $cache = $h->{'x-sharedcache'} // '-';
        $count{"$method $cache"}++;
        my $ok = $status == 200 && $got =~ $want
                 && (!defined $1 || ($h->{'x-render-token'} // '') eq $1);
        unless ($ok) {
            $count{wrong}++;
            push @wrong, "$method $target: $status $cache "
                . substr($got, 0, 120) =~ s/\n/\\n/gr if @wrong < 20;
        }
    }
    return (map({ "count $_ $count{$_}" } sort keys %count),
            map({ "wrong $_" } @wrong), "max_ms $max", "slow $slow");
}

# Fork the clients; add up what they report.
sub load {
    my ($total) = @_;
    my @kids;
    for my $id (1 .. $CLIENTS) {
        my $n = int($total / $CLIENTS) + ($id <= $total % $CLIENTS ? 1 : 0);
        pipe(my $rd, my $wr) or die "pipe: $!";
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            close $rd;
            print $wr "$_\n" for client($id, $n);
            close $wr;
            POSIX::_exit(0);
        }
        close $wr;
        push @kids, [$pid, $rd];
    }
    my %sum = (count => {}, wrong => [], max_ms => 0, slow => 0);
    for my $k (@kids) {
        my $fh = $k->[1];
        while (my $line = <$fh>) {
            chomp $line;
            my ($what, $rest) = split / /, $line, 2;
            if ($what eq 'count') {
                my ($key, $n) = $rest =~ /^(.*) (\d+)$/;
                $sum{count}{$key} += $n;
            }
            elsif ($what eq 'wrong') {
                push @{ $sum{wrong} }, $rest;
            }
            elsif ($what eq 'max_ms') {
                $sum{max_ms} = $rest if $rest > $sum{max_ms};
            }
            else {
                $sum{slow} += $rest;
            }
        }
        waitpid($k->[0], 0);
    }
    return \%sum;
}

sub status { decode_json($ap->get('/sc-status?json')->{body}) }

# --- under chaos ---
$mc->chaos(1);
my $t0 = time;
my $run = load($REQUESTS);
my $took = time - $t0;
$mc->chaos(0);
sleep 0.5;    # leases let go of at log_transaction, after the response
my $st = $mc->chaos_stats;
my $c = $run->{count};
my $answered = 0;
$answered += $c->{$_} for grep { !/^(?:wrong|broken)$/ } keys %$c;
diag(sprintf "%d requests in %.1f s (%s MPM): %s", $REQUESTS, $took,
             SCTest::mpm(),
             join ', ', map { "$_ $c->{$_}" } sort keys %$c);
diag('chaos: ' . join ', ', map { "$_ $st->{$_}" } sort keys %$st);
is($answered, $REQUESTS, "every one of $REQUESTS requests answered");
is($c->{wrong} // 0, 0, 'no wrong body or status: each body is its URL\'s')
    or diag(join "\n", @{ $run->{wrong} });
my $least = $REQUESTS >= 20_000 ? 100 : 5;
for my $kind (qw(other repeat stall close)) {
    cmp_ok($st->{$kind}, '>=', $least,
           "chaos '$kind' happened ($st->{$kind} times)");
}
for my $variant (qw(other/instead other/extra other/renamed repeat/instead
                    repeat/before)) {
    cmp_ok($st->{$variant} // 0, '>=', $least / 5,
           "chaos '$variant' happened (" . ($st->{$variant} // 0)
           . ' times)');
}
is($st->{leases_expired}, 0,
   "no fill lease was left to expire ($st->{leases_taken} taken)");
is($st->{leases_held}, 0, 'none is held once the requests are done');
cmp_ok($run->{slow}, '<=', $REQUESTS / 1000,
       "few requests took over a second ($run->{slow}, the longest "
       . int($run->{max_ms}) . ' ms)');

# --- chaos off: the cache works again at once ---
my $waits = status()->{lock_waits};
my @urls = ((map { page($_) } 0 .. $PAGES - 1),
            (map { my $n = $_; map { varied($n, $_) } 0 .. $LANGS - 1 }
             0 .. $VARIED - 1),
            (map { file($_) } 0 .. $FILES - 1));
my (@bad, %first);
sub fetch {
    my ($u) = @_;
    my ($method, $target, $hdr) = @$u;
    my %h = map { /^([^:]+): (.*)$/ ? ($1 => $2) : () } split /\r\n/, $hdr;
    my $r = defined $u->[4]
        ? $ap->raw($method, $target, %h, _body => $u->[4])
        : $ap->request($method, $target, %h);
    push @bad, "$target: $r->{status} $r->{cache} " . int($r->{ms}) . ' ms'
        unless $r->{status} == 200 && $r->{body} =~ $u->[3]
               && $r->{ms} < 1000;
    return $r;
}
for my $u (@urls) {
    $first{ fetch($u)->{cache} }++;
}
my @second = map { fetch($_)->{cache} } @urls;
is(scalar(grep { $_ ne 'HIT' } @second), 0,
   'chaos off: every URL is a HIT by its second request ('
   . join(', ', map { "first $_ $first{$_}" } sort keys %first) . ')');
is(scalar @bad, 0, 'each with its own body, none waiting a second')
    or diag(join "\n", @bad[0 .. ($#bad > 20 ? 20 : $#bad)]);
is(status()->{lock_waits} - $waits, 0, 'no request waited for a lease');

# Invalidations work: a tag, and a POST to a URL.
for my $t (0 .. $TAGS - 1) {
    fetch(invalidate($t));
}
my @after = map { fetch(page($_))->{cache} } 0 .. $PAGES - 1;
is(scalar(grep { $_ eq 'MISS' } @after), $PAGES,
   'every tag invalidated: each tagged page is a MISS');
cache_is(fetch(page(7)), 'HIT', 'then a HIT');
fetch(post(7));
cache_is(fetch(page(7)), 'MISS', 'a POST to it: a MISS again');
cache_is(fetch(page(7)), 'HIT', 'then a HIT');

my @crashes = grep { /exit signal|Assertion|Segmentation/ }
              split /\n/, $ap->error_log;
is(scalar @crashes, 0, 'no child crashed') or diag(join "\n", @crashes);
opendir my $cores, $ap->dir . '/cores';
is(scalar(grep { !/^\./ } readdir $cores), 0, 'no core dump');
$ap->stop(allow => [qr/SC020[19]/]);
$mc->stop;
done_testing;
