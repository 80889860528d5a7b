# Tracing recipes set a request header from a per-request value:
#   RequestHeader set X-Request-Id "%{UNIQUE_ID}e"      (mod_unique_id)
#   RequestHeader set X-Request-Start "%t"              (New Relic's queue time)
# A header the configuration changed is keyed (sc_derive.c), but such a
# value differs on every request: keyed as it is, every request was a miss
# that stored one more entry nobody could read again.  A per-request value
# is left out of the key inside a header, as the variable itself is
# (UNIQUE_ID is never keyed): the page is rendered once, and what else the
# header holds is still keyed.
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['unique_id'],
                               conf => <<'CONF');
<Location /app>
    SharedCache On
    SharedCacheTTL 600
</Location>
<Location /app/rid>
    RequestHeader set X-Request-Id "%{UNIQUE_ID}e"
</Location>
<Location /app/start>
    RequestHeader set X-Request-Start "%t"
</Location>
<Location /app/mixed>
    SetEnvIf X-Team "^(red|blue)$" TEAM=$1
    RequestHeader set X-Trace "%{UNIQUE_ID}e team=%{TEAM}e"
</Location>
<Location /app/own>
    RequestHeader setifempty X-Request-Id "%{UNIQUE_ID}e"
</Location>
CONF

sub h { my ($r, $n) = @_; $r->{headers}{lc $n} // '' }

for my $case (['/app/rid?reflect=X-Request-Id', qr/^reflected=[\w\@-]{19,}$/m],
              ['/app/start?reflect=X-Request-Start', qr/^reflected=t=\d{16}$/m]) {
    my ($u, $want) = @$case;
    my %seen;
    my $first;
    for (1 .. 20) {
        my $r = $ap->get($u);
        $seen{$r->{cache}}++;
        $first //= $r->{body};
        is($r->{body}, $first, "$u: request $_, the page rendered first") if $_ > 1 && $_ <= 3;
    }
    like($first, $want, "$u: the application got the per-request value");
    is($ap->renders($u), 1, "$u: rendered once in 20 requests");
    is($seen{HIT} // 0, 19, "$u: 19 hits");
}

# What else such a header holds is keyed: each team its page.
{
    my $u = '/app/mixed?reflect=X-Trace';
    my %body;
    for my $team (qw(red blue red blue)) {
        my $r = $ap->get($u, 'X-Team' => $team);
        like($r->{body}, qr/^reflected=\S{19,} team=\Q$team\E$/m, "mixed: $team gets its own team");
        $body{$team} //= $r->{body};
        is($r->{body}, $body{$team}, "mixed: $team, one page per team");
    }
    is($ap->renders($u), 2, 'mixed: rendered once per team');
}

# A value the client sent is not a per-request one: keyed as sent.
{
    my $u = '/app/own?reflect=X-Request-Id';
    my $mine = $ap->get($u, 'X-Request-Id' => 'client-chosen-id-0001');
    like($mine->{body}, qr/^reflected=client-chosen-id-0001$/m, 'own: the client\'s id reaches the application');
    my $none = $ap->get($u);
    unlike($none->{body}, qr/client-chosen/, 'own: a client without one never gets that page');
    my $again = $ap->get($u, 'X-Request-Id' => 'client-chosen-id-0001');
    is($again->{cache}, 'HIT', 'own: the same id is a hit');
    my $other = $ap->get($u, 'X-Request-Id' => 'client-chosen-id-0002');
    like($other->{body}, qr/^reflected=client-chosen-id-0002$/m, 'own: another id, its own page');
}

$ap->stop;

# Values the key cannot mark (the time taken so far, %D; the load, %l;
# idle and busy workers, %i, %b): start-up names each such line (SC0116).
{
    my $ap2 = SCTest::Apache->start(memcached => [$mc], conf => <<'CONF');
<Location /app/queue>
    SharedCache On
    SharedCacheTTL 600
    RequestHeader set X-Queue-Time "%D"
</Location>
<Location /app/fine>
    SharedCache On
    SharedCacheTTL 600
    RequestHeader set X-Start "%t"
</Location>
CONF
    my @w = grep { /SC0116/ } split /\n/, $ap2->error_log;
    is(scalar(@w), 1, 'SC0116: one warning, for the %D line only');
    like($w[0] // '', qr/RequestHeader set X-Queue-Time \(.*httpd\.conf:\d+\): %D differs on every request/,
         'SC0116 names the directive, its line and the format');
    $ap2->stop(allow => [qr/SC0116/]);
}
done_testing;
