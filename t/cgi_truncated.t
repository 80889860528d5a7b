# A CGI that breaks off its body must never be stored as a whole page
# (THREATS 24).  mod_cgi and mod_cgid end a body the script cut short (it
# exited or was killed mid-body) exactly like a whole one: without a
# Content-Length there is nothing to check it against, so such responses
# must not be stored (SharedCacheRequireLength's default for handlers that
# cannot report a broken body).  With a Content-Length the body is checked
# and a whole one is stored.  The same for a WSGI app (mod_wsgi daemon
# mode) that streams without a Content-Length or fails mid-body, and
# SharedCacheRequireLength Off stores a whole stream once the handler ends.
use strict;
use warnings;
use Test::More;
use SCTest;

# One script, what it does chosen by the query string:
#   whole    headers, the whole body, no Content-Length
#   cl       the same with a Content-Length
#   exit     half of the body, then exit 1
#   kill     half of the body, then SIGKILL itself
#   clexit   a Content-Length, half of the body, then exit 1
my $cgi = <<'CGI';
#!/usr/bin/perl
use strict;
$| = 1;
my $mode = ($ENV{QUERY_STRING} // '') =~ /mode=(\w+)/ ? $1 : 'whole';
my $token = join '-', $$, time, int rand 1e9;
my $first = "BEGIN $token\n" . ("a" x 99 . "\n") x 100;
my $second = ("b" x 99 . "\n") x 100 . "END $token\n";
print "Content-Type: text/plain\r\nCache-Control: max-age=60\r\n";
print "Content-Length: ", length($first) + length($second), "\r\n"
    if $mode eq 'cl' || $mode eq 'clexit';
print "\r\n", $first;
select undef, undef, undef, 0.2;    # the first half reaches Apache alone
exit 1 if $mode eq 'exit' || $mode eq 'clexit';
kill 'KILL', $$ if $mode eq 'kill';
print $second;
CGI

# Debian enables mod_cgi with prefork and mod_cgid with threaded MPMs.
my $cgimod = SCTest::mpm() eq 'prefork' ? 'cgi' : 'cgid';
my $mc = SCTest::Memcached->start;
# Pages assembled by mod_include around the script (THREATS 35: a page
# takes the most restrictive decision of its fragments).
my %files = ('x.cgi' => $cgi, map {
    ("$_.shtml" => "<html>page $_ <!--#include virtual=\"/x.cgi?mode=$_\" -->"
                   . " PAGE-END\n") } qw(exit cl clexit));
$files{'wsgicut.shtml'} = '<html>page <!--#include virtual="/app/cut?size=100&'
    . 'stream=2&crash=1&hdr=Content-Length:200100" --> PAGE-END';
my $ap = SCTest::Apache->start(memcached => [$mc],
                               modules => [$cgimod, 'include'],
                               files => \%files, conf => <<'CONF');
<Directory @DIR@/htdocs>
    Options +ExecCGI +Includes
    AddHandler cgi-script .cgi
    AddOutputFilter INCLUDES .shtml
    # httpd >= 2.4.59 drops a CGI's Content-Length unless this is set.
    SetEnvIf Request_URI . ap_trust_cgilike_cl=1
</Directory>
<Location />
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /app/nolen>
    SharedCacheRequireLength Off
</Location>
CONF
chmod 0755, $ap->dir . '/htdocs/x.cgi' or die "chmod: $!";

sub twice {
    my ($path) = @_;
    my $a = $ap->raw('GET', $path);
    my $b = $ap->raw('GET', $path);
    note(sprintf '%s: first %s %s (%d bytes), second %s %s (%d bytes)',
         $path, $a->{status}, $a->{cache} || '-', length $a->{body},
         $b->{status}, $b->{cache} || '-', length $b->{body});
    return ($a, $b);
}

sub whole { $_[0] =~ /\ABEGIN (\S+)\n.*\nEND \1\n\z/s }

# Broken off mid-body: never stored, whatever the way it broke.
for my $case (['exit', 'the script exits 1 mid-body'],
              ['kill', 'the script is killed mid-body'],
              ['clexit', 'the script exits 1 short of its Content-Length']) {
    my ($mode, $what) = @$case;
    my ($a, $b) = twice("/x.cgi?mode=$mode");
    like($a->{body}, qr/\ABEGIN /, "$mode: the first half reached the client");
    ok(!whole($a->{body}), "$mode: and only that ($what)")
        or diag(length($a->{body}) . ' bytes');
    like($a->{cache}, qr/^(MISS|UNCACHEABLE)$/,
         "$mode: the first request is a MISS or UNCACHEABLE ($a->{cache})");
    isnt($b->{cache}, 'HIT', "$mode: the broken body is not served as a HIT")
        or diag(sprintf 'second: %s %s, %d bytes, the same body: %s',
                $b->{status}, $b->{cache}, length $b->{body},
                $b->{body} eq $a->{body} ? 'yes' : 'no');
    isnt($b->{md5}, $a->{md5}, "$mode: the second request ran the script");
    like($b->{cache}, qr/^(MISS|UNCACHEABLE)$/,
         "$mode: X-SharedCache is '$b->{cache}'");
}

# Control: a whole body with a Content-Length is stored.
my ($a, $b) = twice('/x.cgi?mode=cl');
ok(whole($a->{body}), 'cl: the whole body');
is(length $a->{body}, $a->{headers}{'content-length'} // -1,
   'cl: of the declared length');
cache_is($a, 'MISS', 'cl: the first request is a MISS');
cache_is($b, 'HIT', 'cl: a CGI response with Content-Length is stored');
is($b->{md5}, $a->{md5}, 'cl: the HIT is the same whole body');

# A whole body without a Content-Length: nothing tells it from a broken one.
# Documented, not required either way; if it is stored, it is whole.
($a, $b) = twice('/x.cgi?mode=whole');
ok(whole($a->{body}), 'whole: the whole body');
like($a->{cache}, qr/^(MISS|UNCACHEABLE)$/,
     "whole: the first request is a MISS or UNCACHEABLE ($a->{cache})");
diag("a whole CGI body without Content-Length: second request "
     . "X-SharedCache: $b->{cache} ("
     . ($b->{cache} eq 'HIT' ? 'stored' : 'not stored') . ')');
if ($b->{cache} eq 'HIT') {
    is($b->{md5}, $a->{md5}, 'whole: if stored, the HIT is that body');
}
else {
    ok(whole($b->{body}) && $b->{md5} ne $a->{md5},
       'whole: if not stored, the script ran again');
}

# The broken script as a fragment of a page: the page is not stored with
# half a fragment in it.
($a, $b) = twice('/exit.shtml');
like($a->{body}, qr/page exit BEGIN .* PAGE-END\n\z/s,
     'exit.shtml: the page around the broken fragment');
ok(!whole($a->{body} =~ s/\A<html>page exit (.*) PAGE-END\n\z/$1/sr),
   'exit.shtml: the fragment is only half of its body');
isnt($b->{cache}, 'HIT', 'exit.shtml: not served as a HIT')
    or diag("second: $b->{status} $b->{cache}, the same body: "
            . ($b->{md5} eq $a->{md5} ? 'yes' : 'no'));
isnt($b->{md5}, $a->{md5}, 'exit.shtml: the page was assembled again');
# A fragment cut short of its Content-Length (a CGI, mod_wsgi's daemon
# mode): the page around it is not stored either.
for my $page ('/clexit.shtml', '/wsgicut.shtml') {
    ($a, $b) = twice($page);
    like($a->{body}, qr/PAGE-END\n?\z/, "$page: the page around the cut fragment");
    isnt($b->{cache}, 'HIT', "$page: not served as a HIT")
        or diag("second: $b->{status} $b->{cache}, the same body: "
                . ($b->{md5} eq $a->{md5} ? 'yes' : 'no'));
    isnt($b->{md5}, $a->{md5}, "$page: the page was assembled again");
}
# A whole fragment with a Content-Length: documented, either is right.
($a, $b) = twice('/cl.shtml');
like($a->{body}, qr/page cl BEGIN .*\nEND \S+\n PAGE-END\n\z/s,
     'cl.shtml: the page with the whole fragment');
diag("a page around a whole CGI fragment with Content-Length: second "
     . "request X-SharedCache: $b->{cache}");
is($b->{md5}, $a->{md5}, 'cl.shtml: if stored, the HIT is that page')
    if $b->{cache} eq 'HIT';

# The WSGI test app: a body the backend broke off is never stored as
# complete; without a Content-Length nothing is stored unless
# SharedCacheRequireLength is Off.
{
    my $crash = '/app/crash?stream=3&crash=1';
    $ap->raw(GET => $crash);
    my $again = $ap->raw(GET => $crash);
    isnt($again->{cache}, 'HIT', 'a truncated stream is not served as a HIT');
    cache_is($again, 'UNCACHEABLE',
             'SharedCacheRequireLength: without Content-Length, not stored');
    my $ok = '/app/streamed-ok?stream=2';
    $ap->raw(GET => $ok, 'X-Len' => 1);
    cache_is($ap->raw(GET => $ok), 'UNCACHEABLE',
             'a whole stream without Content-Length is not stored either');
    my $off = '/app/nolen/streamed?stream=2';
    $ap->raw(GET => $off);
    cache_is($ap->raw(GET => $off), 'HIT',
             'with SharedCacheRequireLength Off it is stored once the '
             . 'handler ends');
}

# The app's failure mid-body (a RuntimeError) is logged by mod_wsgi.
$ap->stop(allow => [qr/\[wsgi:error\]/]);
done_testing;
