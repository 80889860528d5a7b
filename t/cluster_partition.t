# A server cut off while invalidations happen must not serve what they
# invalidated when it comes back.  One of three memcached servers - the
# one holding two tags' counters and two URLs' keys - is cut off, and
# while it is away the tags are invalidated (sharedcachectl; the app's
# X-SharedCache-Invalidate response header through Apache) and the URLs
# purged (PURGE through Apache; sharedcachectl purge).  sharedcachectl
# says it could not reach that server (exit 3, and a line of stderr that
# names it and none of the servers that answered).  When the server is
# back no entry stored before those invalidations is ever served as a HIT:
# each page is requested during the cut and four times over two seconds
# after it, and a HIT carrying the render token of the old entry is a
# stale hit.  Pages nobody invalidated are HITs again.
#
# Twice: "pause" stops the server (SIGSTOP ... SIGCONT): it keeps its data,
# and the commands sent meanwhile wait in its socket buffer, so memcached
# runs them late on SIGCONT.  "partition" cuts it off behind a relay
# (SCTest::Cluster::Proxy) that loses whatever was sent while cut off, as
# a network partition does: the server comes back with its old data and
# without the invalidations.
# sc-test: alone (it measures time; make prove runs the others two at a time)
# sc-test: own-cluster (every memcached it starts is no_extra)
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use SCTest;
SCTest::skip_in_cluster_pass();
SCTest::event_only();
use SCTest::Cluster qw(:all);

my $CONF = <<'CONF';
SharedCacheTimeout 200
SharedCacheRetryInterval 1
<Location /app>
    SharedCache On
    SharedCacheTTL 300
    SharedCachePurge On
    <Limit PURGE>
        Require ip 127.0.0.1
    </Limit>
</Location>
CONF

sub scenario {
    my ($mode) = @_;
    my @mc = map { SCTest::Memcached->start(no_extra => 1) } 1 .. 3;
    # What Apache and sharedcachectl are given: the servers, or the relays.
    my @srv = $mode eq 'partition'
        ? map { SCTest::Cluster::Proxy->start($_) } @mc : @mc;
    my $ap = SCTest::Apache->start(memcached => \@srv, conf => $CONF);
    my $base = 'http://127.0.0.1:' . $ap->port;

    # ---- where things live --------------------------------------------

    # One page tagged with 16 candidate tags creates their counters; 30
    # plain pages create their URL counters.
    my @cand = map { "part-$_" } 1 .. 16;
    $ap->get('/app/part/seed?sk=' . join('%20', @cand));
    my @plain = map { "/app/part/plain-$_" } 1 .. 30;
    $ap->get($_) for @plain;
    my @sets = key_sets(@mc);
    my %tag_on = map { my $t = $_;
                       ($t => (grep { $sets[$_]{ tag_key($t) } } 0 .. 2)[0]) }
                 @cand;
    my %url_on = map { my $p = $_;
                       ($p => (grep { $sets[$_]{ url_key($ap, $p) } } 0 .. 2)[0]) }
                 @plain;
    is(scalar(grep { defined } values %tag_on), 16,
       'the 16 tag counters exist') or diag(explain \%tag_on);
    is(scalar(grep { defined } values %url_on), 30,
       'the 30 URL counters exist');

    # The victim: the server with the most of the plain pages' URL counters
    # (two are needed).  A tag's counter has a copy on every server that
    # holds a page with the tag: the pages below spread over all three.
    my @urls_of = map { my $s = $_; [grep { ($url_on{$_} // -1) == $s } @plain] }
                  0 .. 2;
    my ($victim) = sort { @{ $urls_of[$b] } <=> @{ $urls_of[$a] } } 0 .. 2;
    my ($tag_ctl, $tag_hdr, $tag_ok) = @cand[0 .. 2];
    my ($url_purge, $url_ctl) = @{ $urls_of[$victim] };
    my $victim_addr = $srv[$victim]->addr;
    my @others = map { $_->addr } @srv[grep { $_ != $victim } 0 .. 2];
    ok($tag_ctl && $tag_hdr && $tag_ok && $url_purge && $url_ctl,
       "server $victim ($victim_addr) holds the counters of URLs "
       . "$url_purge and $url_ctl; tags $tag_ctl and $tag_hdr are "
       . "invalidated, $tag_ok is not")
        or return;

    # ---- the pages ----------------------------------------------------

    my %invalidated;    # path => the render token of its old entry
    my %kept;           # path => token, pages nobody invalidates
    my @a = map { "/app/part/a-$_?sk=$tag_ctl" } 1 .. 8;
    my @b = map { "/app/part/b-$_?sk=$tag_hdr" } 1 .. 8;
    my @c = map { "/app/part/c-$_?sk=$tag_ok" } 1 .. 6;
    my @k = (grep { ($url_on{$_} // -1) != $victim } @plain)[0 .. 5];
    $ap->get($_) for @a, @b, @c;
    my @cached;
    for my $p (@a, @b, $url_purge, $url_ctl) {
        my $r = $ap->get($p);
        push @cached, $p if $r->{cache} eq 'HIT';
        $invalidated{$p} = body_token($r->{body});
    }
    for my $p (@c, @k) {
        my $r = $ap->get($p);
        push @cached, $p if $r->{cache} eq 'HIT';
        $kept{$p} = body_token($r->{body});
    }
    is(scalar @cached, keys(%invalidated) + keys(%kept),
       scalar(@cached) . ' pages cached (HIT) before the cut');

    # ---- invalidations while the server is away -----------------------

    # A line of stderr naming the unreachable server and none of the
    # servers that answered.
    my $names_alone = sub {
        for my $line (split /\n/, $_[0] // '') {
            next unless index($line, $victim_addr) >= 0;
            return 1 unless grep { index($line, $_) >= 0 } @others;
        }
        return 0;
    };

    if ($mode eq 'partition') { $srv[$victim]->partition }
    else { pause($mc[$victim]) }
    my $r = ctl(servers => \@srv, timeout => 300, limit => 10,
                args => ['invalidate', $tag_ctl]);
    is($r->{rc}, 3, "sharedcachectl invalidate $tag_ctl: exit 3 (a server "
       . 'could not be reached)') or diag("$r->{out}$r->{err}");
    ok($names_alone->($r->{err}), "and a line of its stderr names "
       . "$victim_addr, the server that could not be reached, and not the "
       . 'others') or diag($r->{err});

    $r = ctl(servers => \@srv, timeout => 300, limit => 10,
             args => ['purge', "$base$url_ctl"]);
    is($r->{rc}, 3, 'sharedcachectl purge: exit 3')
        or diag("$r->{out}$r->{err}");
    ok($names_alone->($r->{err}), "and names $victim_addr alone")
        or diag($r->{err});

    my $inv = $ap->get("/app/part/save?cc=no-store&inv=$tag_hdr");
    diag("$mode: X-SharedCache-Invalidate: $tag_hdr through Apache: "
         . "$inv->{status} $inv->{cache}");
    my $purge = $ap->raw(PURGE => $url_purge);
    diag("$mode: PURGE $url_purge: $purge->{status}");

    my @stale;
    my $check = sub {
        my ($when) = @_;
        for my $p (sort keys %invalidated) {
            my $res = $ap->get($p);
            push @stale, "$when: $p HIT with the old entry"
                if $res->{cache} eq 'HIT'
                   && body_token($res->{body}) eq $invalidated{$p};
        }
    };
    $check->('cut off');

    if ($mode eq 'partition') { $srv[$victim]->heal }
    else { resume($mc[$victim]) }

    # ---- back: nothing invalidated while it was away is served --------

    for my $round (1 .. 4) {
        $check->("round $round after it is back");
        sleep 0.5;
    }
    is(scalar @stale, 0, scalar(keys %invalidated) . ' pages invalidated '
       . 'while the server was away, each requested during the cut and 4 '
       . 'times after it: never served from the old entry')
        or diag(join "\n", @stale[0 .. ($#stale < 19 ? $#stale : 19)],
                @stale > 20 ? '... ' . (@stale - 20) . ' more' : ());
    my %groups = ("tag $tag_ctl (sharedcachectl invalidate)" => \@a,
                  "tag $tag_hdr (X-SharedCache-Invalidate)" => \@b,
                  "$url_purge (PURGE)" => [$url_purge],
                  "$url_ctl (sharedcachectl purge)" => [$url_ctl]);
    for my $g (sort keys %groups) {
        my %in = map { $_ => 1 } @{ $groups{$g} };
        my $n = grep { /: (\S+) HIT/ && $in{$1} } @stale;
        is($n, 0, "$g: no stale hit");
    }

    my %hit;
    my $until = time + 8;   # retry interval and fence, on a loaded machine
    while (1) {
        for my $p (grep { !$hit{$_} } sort keys %kept) {
            $hit{$p} = 1 if $ap->get($p)->{cache} eq 'HIT';
        }
        last if keys %hit == keys %kept || time > $until;
        sleep 0.2;
    }
    is(scalar keys %hit, scalar keys %kept,
       'the pages nobody invalidated are HITs again');

    $ap->stop(allow => [qr/SC020[19]/]);
    $_->stop for @srv, @mc;
}

subtest 'pause (SIGSTOP)' => sub { scenario('pause') };
subtest 'partition (commands sent meanwhile are lost)' => sub {
    scenario('partition');
};
done_testing;
