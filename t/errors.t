# docs/errors.md lists exactly the log tags the source uses, each once.
use strict;
use warnings;
use Test::More;
use SCTest;

my %used;
for my $f (glob("$SCTest::ROOT/src/*.c"), "$SCTest::ROOT/mod_sharedcache.c") {
    open my $fh, '<', $f or die "$f: $!";
    my $code = do { local $/; <$fh> };
    $used{"SC$1"}++ while $code =~ /SC_LOGNO\((\d{4})\)/g;
}
open my $doc, '<', "$SCTest::ROOT/docs/errors.md" or die $!;
my %documented = map { /^\| (SC\d{4}) \|/ ? ($1 => 1) : () } <$doc>;

cmp_ok(scalar keys %used, '>', 5, 'the source uses log tags');
is_deeply([sort keys %documented], [sort keys %used],
          'docs/errors.md documents exactly the tags in the source');
is_deeply([grep { $used{$_} > 1 } sort keys %used], [],
          'no tag is used twice');
done_testing;
