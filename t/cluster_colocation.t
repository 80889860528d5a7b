# Co-location: every key that belongs to one URL (its entry, its URL
# counter, its fill lease, and for a page that varies its Vary record and
# each variant) lives on the one server chosen by that URL, so that losing
# a server loses whole URLs and a lookup talks to one server.  Only the
# namespace counter (a copy on every server) and tag counters may live
# elsewhere.
#
# Each URL is cached alone, and the keys memcached holds before and after
# are compared: what appeared is that URL's.
# sc-test: alone (it measures time; make prove runs the others two at a time)
# sc-test: own-cluster (every memcached it starts is no_extra)
use strict;
use warnings;
use Test::More;
use POSIX ();
use Time::HiRes qw(time sleep);
use SCTest;
SCTest::skip_in_cluster_pass();
SCTest::event_only();
use SCTest::Cluster qw(:all);

my @mc = map { SCTest::Memcached->start(no_extra => 1) } 1 .. 3;
my $ap = SCTest::Apache->start(memcached => \@mc, conf => <<'CONF');
SharedCacheTimeout 200
<Location /app>
    SharedCache On
    SharedCacheTTL 300
</Location>
CONF

# The keys that appeared while $code ran, as { key => [servers] }, the
# namespace counter left out.
# The keys that appear while $code runs.  With $path, entries whose record
# names another page are left out: a client has the whole body before
# the entry is written, so an earlier page's store may land meanwhile.
# The keys of each server once they hold still for 150 ms.
sub settled {
    my @sets = key_sets(@mc);
    for (1 .. 20) {
        sleep 0.15;
        my @again = key_sets(@mc);
        my $same = !grep { join(' ', sort keys %{ $sets[$_] })
                           ne join(' ', sort keys %{ $again[$_] }) } 0 .. $#mc;
        @sets = @again;
        last if $same;
    }
    return @sets;
}

sub new_keys {
    my ($code, $path) = @_;
    # Writes that follow an earlier response (a store, read back before it
    # counts as done; a lease's "uncacheable" marker) land first: the keys
    # must hold still for 150 ms before the window opens.
    my @before = settled();
    $code->();
    my @after = key_sets(@mc);
    my %new;
    for my $i (0 .. $#mc) {
        for my $k (keys %{ $after[$i] }) {
            next if $before[$i]{$k} || $k eq ns_key();
            next if $path && $k =~ /^sc:e:/
                    && index($mc[$i]->get_raw($k) // '', $path) < 0;
            push @{ $new{$k} }, $i;
        }
    }
    return \%new;
}

sub servers_of { my %s = map { $_ => 1 } map { @$_ } values %{ $_[0] }; sort keys %s }

sub show {
    my ($new) = @_;
    return join "\n", map {
        my $k = $_;
        # an entry's record holds its full key: say which URL it is
        my $raw = $k =~ /^sc:e:/ ? $mc[ $new->{$k}[0] ]->get_raw($k) : undef;
        my ($url) = ($raw // '') =~ m{(/app/[^\s\0-\x1f]*)};
        "  $k on server @{ $new->{$k} }" . ($url ? " ($url)" : '')
    } sort keys %$new;
}

# ---- plain pages: entry and URL counter -------------------------------

my $N = 8;
my (@split, @incomplete);
for my $i (1 .. $N) {
    my $path = "/app/coloc/plain-$i";
    # (On its own connection, read to the close: the store that follows
    # the response is done when it returns.)
    my $new = new_keys(sub {
        my $r = $ap->raw(GET => $path);
        $r->{cache} eq 'MISS' or diag("$path: $r->{cache}");
    });
    my $entry = entry_key($ap, $path, \@mc);
    my $url = url_key($ap, $path);
    push @incomplete, $path unless $new->{$entry} && $new->{$url};
    my @s = servers_of($new);
    push @split, "$path: on servers @s\n" . show($new) if @s != 1;
}
is(scalar @incomplete, 0, 'each plain page stored its entry and its URL counter')
    or diag("@incomplete");
is(scalar @split, 0,
   "each of $N plain pages has all its keys (entry, URL counter) on one "
   . 'server') or diag(join "\n", @split);

# ---- the fill lease, while the page renders ---------------------------

@split = ();
my $leases = 0;
for my $i (1 .. 3) {
    my $path = "/app/coloc/slow-$i?sleep=1200";
    my @before = settled();
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $ap->raw(GET => $path);    # read to the close: stored
        POSIX::_exit(0);
    }
    # While it renders: its lease (sc:l:) is in memcached.
    my %lease;
    my $until = time + 1.0;
    while (time < $until && !%lease) {
        my @now = key_sets(@mc);
        for my $s (0 .. $#mc) {
            $lease{$_} = $s for grep { /^sc:l:/ && !$before[$s]{$_} }
                                keys %{ $now[$s] };
        }
        sleep 0.05 unless %lease;
    }
    waitpid $pid, 0;
    my @after = settled();
    my %new;
    for my $s (0 .. $#mc) {
        push @{ $new{$_} }, $s
            for grep { !$before[$s]{$_} && $_ ne ns_key() } keys %{ $after[$s] };
    }
    push @{ $new{$_} }, $lease{$_} for keys %lease;
    $leases++ if %lease && grep({ /^sc:e:/ } keys %new)
                 && $new{ url_key($ap, $path) };
    my @s = servers_of(\%new);
    push @split, "$path: on servers @s\n" . show(\%new) if @s != 1;
}
is($leases, 3, 'each slow page: its lease was seen while it rendered, '
   . 'then its entry and URL counter');
is(scalar @split, 0,
   'each slow page: its lease, entry and URL counter are on one server')
    or diag(join "\n", @split);

# ---- a page that varies: Vary record, variants, URL counter -----------

@split = ();
my $vary_ok = 0;
for my $i (1 .. 4) {
    my $path = "/app/coloc/vary-$i?vary=Accept-Language";
    my ($page) = $path =~ /^([^?]*)/;
    my $new = new_keys(sub {
        for my $lang (qw(de fr it)) {
            $ap->raw(GET => $path, 'Accept-Language' => $lang);
        }
    }, $page);
    my @records = map { entry_key($ap, $path, \@mc, "Accept-Language: $_") }
                  qw(de fr it);
    my %want = map { $_ => 1 } @records, url_key($ap, $path);
    # the Vary record, three variants and the URL counter
    $vary_ok++ if keys %want == 5 && !grep { !$new->{$_} } keys %want;
    my @s = servers_of($new);
    push @split, "$path: on servers @s\n" . show($new) if @s != 1;
}
is($vary_ok, 4, 'each varying page stored its Vary record, three variants '
   . 'and its URL counter');
is(scalar @split, 0,
   'each of 4 varying pages has all its keys on one server')
    or diag(join "\n", @split);

# ---- and they are read back from there --------------------------------

is(scalar(grep { $ap->get("/app/coloc/plain-$_")->{cache} eq 'HIT' } 1 .. $N),
   $N, 'the plain pages are HITs');
is(scalar(grep { $ap->get("/app/coloc/vary-$_?vary=Accept-Language",
                          'Accept-Language' => 'fr')->{cache} eq 'HIT' } 1 .. 4),
   4, 'the variants are HITs');

$ap->stop;
done_testing;
