# SSI that reads the request keeps its page out of the cache however the
# markup is written or the reads cut it: a variable written as an entity
# (mod_include decodes "&#36;" before it expands), a directive cut at the
# end of a read (EnableMMAP Off: 8000-byte reads), or in its start tag;
# and with SSIStartTag configured every SSI page counts as
# reading (the watch reads only the default markup).
use strict;
use warnings;
use Test::More;
use SCTest;

my $frag = <<'PY';
def application(environ, start_response):
    body = ("nav path=%s\n" % environ.get("PATH_INFO", "-")).encode()
    start_response("200 OK", [("Content-Type", "text/html"),
                              ("Content-Length", str(len(body)))])
    return [body]
PY
my $pad = ("x" x 79 . "\n") x 99;   # 7920 bytes
my $cut = sub {    # the first $n bytes of $tag end the first 8000-byte read
    my ($tag, $n, $rest) = @_;
    return $pad . ("y" x (8000 - length($pad) - $n)) . $tag . $rest . "\n";
};
my %files = (
    'frag.py'  => $frag,
    'e1.shtml' => qq{<p>e1</p><!--#include virtual="/nav/&#36;{HTTP_X_PAGE}" -->\n},
    'e1b.shtml' => qq{<p>e1b</p><!--#include virtual="/nav/&#036;{HTTP_X_PAGE}" -->\n},
    'e3.shtml' => $cut->('<!--#include', length('<!--#include'),
                         ' virtual="/nav/' . ('a' x 32) . '${HTTP_X_PAGE}" -->'),
    'e3b.shtml' => $cut->('<!-', 3, '-#include virtual="/nav/${HTTP_X_PAGE}" -->'),
    'plain.shtml' => qq{<p>plain</p><!--#include virtual="/nav/fixed?a=1&amp;b=2" -->\n},
    # mod_include ends a directive at a "-->" between its arguments only:
    # one in a quoted value (escaped quotes too) or an unquoted one is
    # the value's (found by the outside attack)
    'q1.shtml' => qq{<p>q1</p><!--#include virtual="/nav/a?x=-->" virtual="/nav/b\${HTTP_X_PAGE}" -->\n},
    'q2.shtml' => qq{<p>q2</p><!--#include virtual=/nav/a?x=--> virtual="/nav/b\${HTTP_X_PAGE}" -->\n},
    'q3.shtml' => qq{<p>q3</p><!--#include virtual="/nav/a?x=\\"-->" virtual="/nav/b\${HTTP_X_PAGE}" -->\n},
    # its entities' numbers overflow an int: 2^32 + 36 is a '$'
    'o1.shtml' => qq{<p>o1</p><!--#include virtual="/nav/o&#4294967332;{HTTP_X_PAGE}" -->\n},
    # "--->" between arguments is an argument's name to mod_include, not
    # the end: the directive goes on (found by the outside attack)
    'd1.shtml' => qq{<p>d1</p><!--#config --->="<!--#x a='" --> <!--#echo var="HTTP_X_PAGE" --> ' -->\n},
    'd2.shtml' => qq{<p>d2</p><!--#include virtual="/nav/a" --->="<!--#x a='" --> <!--#echo var="HTTP_X_PAGE" --> ' -->\n},
    # in a directive's name, whether "--->" ends it depends on where a
    # read cuts the dashes: here the read ends after two, and the name
    # goes on
    'n1.shtml' => $cut->('<!--#include--', length('<!--#include--'),
                         q{-> x=' <!--#y a=' --> <!--#echo var="HTTP_X_PAGE" --> ' -->}),
    'qplain.shtml' => qq{<p>qplain</p><!--#include virtual="/nav/fixed?x=-->" -->\n},
);
my $conf = "EnableMMAP Off\n" . SCTest::ssi_site();
my $mc = SCTest::Memcached->start;
my $ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
                               files => \%files, conf => $conf);
for my $t (['e1.shtml', 'X-Page', 'EVILPAGE'], ['e1b.shtml', 'X-Page', 'EVILPAGE'],
           ['e3.shtml', 'X-Page', 'EVILPAGE'], ['e3b.shtml', 'X-Page', 'EVILPAGE'],
           map { ["$_.shtml", 'X-Page', 'EVILPAGE'] } qw(q1 q2 q3 o1 d1 d2 n1)) {
    my ($p, $h, $v) = @$t;
    my $a = $ap->raw(GET => "/$p", $h => $v);
    like($a->{body}, qr/$v/, "$p: the SSI reads $h");
    my $b = $ap->raw(GET => "/$p");
    unlike($b->{body}, qr/$v/, "$p: the next visitor does not get the first one's $h");
}
$ap->raw(GET => '/plain.shtml');
cache_is($ap->raw(GET => '/plain.shtml'), 'HIT',
         'an include with an entity but no variable is stored');
$ap->raw(GET => '/qplain.shtml');
my $qp = $ap->raw(GET => '/qplain.shtml');
cache_is($qp, 'HIT', 'an include with "-->" in its value but no variable is stored');
like($qp->{body}, qr{nav path=/fixed}, '... and includes');
$ap->stop(allow => [qr/AH01349|AH01342|AH01371/]);   # d1, d2, n1's markup

# A start tag of its own: nothing the watch reads; every SSI page counts.
$ap = SCTest::Apache->start(memcached => [$mc], modules => ['include'],
    files => { 'frag.py' => $frag,
               'c.shtml' => qq{<p>c</p><%include virtual="/nav/\${HTTP_X_PAGE}" %>\n} },
    conf => "SSIStartTag \"<%\"\nSSIEndTag \"%>\"\n$conf");
like($ap->raw(GET => '/c.shtml', 'X-Page' => 'EVILPAGE')->{body}, qr/EVILPAGE/,
     'SSIStartTag: the SSI reads X-Page');
unlike($ap->raw(GET => '/c.shtml')->{body}, qr/EVILPAGE/,
       'SSIStartTag: the next visitor does not get it');
$ap->stop;
done_testing;
