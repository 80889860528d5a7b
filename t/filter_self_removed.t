# A filter before the cache's copy that removes itself once it sees it has
# nothing to do for this request still read the request to decide so.
# mod_filter's FilterProvider picks its provider by an expression; where
# none holds (a client the expression does not select) the chain removes
# itself on its first call, before SHAREDCACHE_SAVE looks at the filters.
# The page it let through unchanged is one client's: stored, every other
# client would get it (an outsider the inside page, or an insider the
# redacted one).  Control: the same requests under "SharedCache Off".
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $conf = <<'CONF';
<Location /app>
    SharedCache @MODE@
    SharedCacheTTL 60
</Location>
# outsiders (not 127.0.0.5) get the token redacted
FilterDeclare redact
FilterProvider redact SUBSTITUTE "! -R '127.0.0.5'"
# a header read without adding Vary
FilterDeclare staff
FilterProvider staff SUBSTITUTE "req_novary('X-Staff') != 'yes'"
<Location /app/internal>
    FilterChain redact
    Substitute "s/token=[0-9a-f]+/token=REDACTED/"
</Location>
<Location /app/staff>
    FilterChain staff
    Substitute "s/token=[0-9a-f]+/token=REDACTED/"
</Location>
CONF

sub redacted { $_[0]{body} =~ /token=REDACTED/ ? 'redacted' : 'raw' }

my %got;
for my $mode ('Off', 'On') {
    (my $c = $conf) =~ s/\@MODE\@/$mode/;
    my $ap = SCTest::Apache->start(memcached => [$mc],
                                   modules => [qw(substitute filter)],
                                   conf => $c);
    my $n = 0;
    for my $order ('inside-first', 'outside-first') {
        my @who = ([ inside => { _from => '127.0.0.5' }, 'internal' ],
                   [ outside => { _from => '127.0.0.6' }, 'internal' ],
                   [ staff => { 'X-Staff' => 'yes' }, 'staff' ],
                   [ public => {}, 'staff' ]);
        for my $pair ([ 0, 1 ], [ 2, 3 ]) {
            my @seq = map { $who[$_] } @$pair;
            @seq = reverse @seq if $order eq 'outside-first';
            $n++;
            for my $round (1, 2) {
                for my $w (@seq) {
                    my ($name, $h, $loc) = @$w;
                    my $r = $ap->raw(GET => "/app/$loc/report$n?cc=max-age%3D60",
                                     %$h);
                    $got{$mode}{"$order $name $round"} = redacted($r);
                    $got{cache}{"$order $name $round"} = $r->{cache}
                        if $mode eq 'On';
                }
            }
        }
    }
    $ap->stop;
}
# A filter placed before SHAREDCACHE_FIRST (mod_ext_filter's ftype=5)
# that removes itself on its first call for some clients (DisableEnv=
# on a variable the handler put in the environment: the client's header).
{
    my $ap = SCTest::Apache->start(memcached => [$mc], modules => [qw(cgi ext_filter)],
                                   conf => <<'CONF');
ExtFilterDefine redact mode=output ftype=5 cmd="/bin/sed -e s/token=[0-9a-f]*/token=REDACTED/" DisableEnv=HTTP_X_STAFF
ScriptAlias /cgi/ @DIR@/htdocs/cgi/
<Directory @DIR@/htdocs/cgi>
    Options +ExecCGI
    Require all granted
</Directory>
<Location /cgi>
    SharedCache On
    SharedCacheTTL 60
    SharedCacheRequireLength Off
    SetOutputFilter redact
</Location>
CONF
    mkdir $ap->dir . '/htdocs/cgi';
    open my $f, '>', $ap->dir . '/htdocs/cgi/page' or die $!;
    print $f "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n"
        . "Cache-Control: max-age=60\\r\\n\\r\\ntoken=abc123\\n'\n";
    close $f;
    chmod 0755, $ap->dir . '/htdocs/cgi/page';
    my $staff = $ap->raw(GET => '/cgi/page', 'X-Staff' => '1');
    is(redacted($staff), 'raw', 'ftype=5: staff get the raw page (control)');
    my $other = $ap->raw(GET => '/cgi/page');
    is(redacted($other), 'redacted',
       "LEAK if failing: ftype=5: a client without X-Staff gets it redacted ($other->{cache})");
    $ap->stop;
}

is($got{Off}{"inside-first outside 1"}, 'redacted',
   'control: the outsider gets the redacted page');
is($got{Off}{"inside-first inside 1"}, 'raw', 'control: the insider gets the raw one');
for my $k (sort keys %{ $got{Off} }) {
    is($got{On}{$k}, $got{Off}{$k},
       "LEAK if failing: $k gets what it gets without the cache"
       . " (X-SharedCache: $got{cache}{$k})");
}
done_testing;
