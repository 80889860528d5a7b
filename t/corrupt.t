# A record that fails any check is a miss, never a crash or another page:
# garbage, truncation, a foreign record, and a valid record of another URL
# stored under this URL's key (a collision or misdirected reply).
use strict;
use warnings;
use Test::More;
use SCTest;

my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc]);

# The entry is stored just after the response is sent: wait for it.
sub new_keys {
    my ($before) = @_;
    my %seen = map { $_ => 1 } @$before;
    for (1 .. 100) {
        my @new = grep { !$seen{$_} && /:e:/ } $mc->keys;
        return @new if @new;
        select undef, undef, undef, 0.02;
    }
    return;
}

my @before = $mc->keys;
my $a1 = $ap->get('/app/corrupt-a');
my ($key_a) = new_keys(\@before);
ok($key_a, 'the entry key of /app/corrupt-a is found');
like($key_a // '', qr/^sc:e:[0-9a-f]{40}$/, 'keys are <prefix>:e:<sha1 hex>');
my $record_a = $mc->get_raw($key_a);
like($record_a, qr/^SCE\x02/, 'the record starts with its magic and format');

my @before_b = $mc->keys;
$ap->get('/app/corrupt-b');
my ($key_b) = new_keys(\@before_b);

# A valid record of A under B's key: must not be served for B.
$mc->set_raw($key_b, $record_a);
my $b = $ap->get('/app/corrupt-b');
cache_is($b, 'MISS', 'A\'s record under B\'s key: a MISS');
unlike($b->{body}, qr/path=\/corrupt-a/, 'B never shows A\'s page');

my @bad = (
    [ 'garbage', "hello world" ],
    [ 'empty-ish', "S" ],
    [ 'wrong format version', "SCE\x09" . substr($record_a, 4) ],
    [ 'truncated', substr($record_a, 0, int(length($record_a) / 2)) ],
    [ 'one byte short', substr($record_a, 0, length($record_a) - 1) ],
    [ 'one byte long', $record_a . 'x' ],
    [ 'huge header count', substr($record_a, 0, 40) . "\xff\xff" x 8 ],
);
for my $case (@bad) {
    my ($name, $data) = @$case;
    $mc->set_raw($key_a, $data);
    my $r = $ap->get('/app/corrupt-a');
    is($r->{status}, 200, "$name: answered 200");
    cache_is($r, 'MISS', "$name: a MISS");
    cache_is($ap->get('/app/corrupt-a'), 'HIT', "$name: then stored anew");
}
is($ap->get('/app/corrupt-a')->{body} =~ /path=\/corrupt-a/ ? 1 : 0, 1,
   'and A still shows its own page');

$ap->stop(allow => [qr/SC0204|SC0205/]);
done_testing;
