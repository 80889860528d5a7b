package SCTest::HTTP;

# Owns HTTP on the wire for the tests: writing a request byte for byte
# (request_text); reading one response off a connection that stays open
# (read_response); the one parser of raw HTTP/1.x responses, which every
# caller uses (parse_response: the harness's raw() and burst() and the
# tests that read a socket or curl -i themselves); and cache_is, the
# assertion on the X-SharedCache decision header (SCTest exports it).

use strict;
use warnings;
use Digest::MD5 qw(md5_hex);
use Exporter 'import';
use Test::More ();

our @EXPORT_OK = qw(request_text parse_response read_response cache_is);

# A request as written on the wire: the request line, the headers in
# sorted order, the empty line, then the body if any.
sub request_text {
    my ($method, $target, $headers, $body) = @_;
    return "$method $target HTTP/1.1\r\n"
        . join('', map { "$_: $headers->{$_}\r\n" } sort keys %$headers)
        . "\r\n" . ($body // '');
}

# Parse one whole response (what a Connection: close socket gave, or the
# output of curl -i) into the summary every test reads:
#   status   the status code (0 when there is none)
#   cache    the X-SharedCache decision ('' when absent; the first one)
#   body     the body, chunked transfer coding removed
#   md5      md5_hex of that body
#   headers  lower-case names; a repeated header is an array of values
#   head     the status line and headers as received
# Options: method => 'HEAD' (there is no body), decoded => 1 (the body is
# already decoded, as curl -i prints it, whatever Transfer-Encoding says).
sub parse_response {
    my ($bytes, %o) = @_;
    my ($head, $body) = split /\r\n\r\n/, $bytes // '', 2;
    $head //= '';
    $body //= '';
    my ($status_line, @lines) = split /\r\n/, $head;
    my ($status) = ($status_line // '') =~ m{^HTTP/\S+ (\d{3})};
    my %h;
    for (@lines) {
        my ($n, $v) = /^([^:]+):\s*(.*)$/ or next;
        $n = lc $n;
        $h{$n} = exists $h{$n} ? (ref $h{$n} ? [@{ $h{$n} }, $v]
                                             : [$h{$n}, $v]) : $v;
    }
    my $te = header_text($h{'transfer-encoding'});
    if (!$o{decoded} && $te =~ /chunked/i) {
        my $decoded = '';
        while ($body =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $decoded .= substr($body, 0, $n, '');
            $body =~ s/^\r\n//;
        }
        $body = $decoded;
    }
    $body = '' if ($o{method} // '') eq 'HEAD';
    my $cache = $h{'x-sharedcache'};
    $cache = $cache->[0] if ref $cache;
    ($cache) = ($cache // '') =~ /^(\S*)/;
    return {
        status => $status // 0, cache => $cache, body => $body,
        md5 => md5_hex($body), headers => \%h, head => $head,
    };
}

# Read one response from $sock without waiting for the connection to
# close: the head, then a body of its Content-Length (without one, what
# came with the head).  Returns the bytes, for parse_response.
sub read_response {
    my ($sock) = @_;
    my $bytes = '';
    while ($bytes !~ /\r\n\r\n/) {
        sysread($sock, $bytes, 4096, length $bytes) or last;
    }
    my ($head, $body) = split /\r\n\r\n/, $bytes, 2;
    $body //= '';
    my $len = parse_response("$head\r\n\r\n")->{headers}{'content-length'};
    $len = undef if ref $len || ($len // '') !~ /^\d+$/;
    while (defined $len && length $body < $len) {
        sysread($sock, $body, $len - length $body, length $body) or last;
    }
    return "$head\r\n\r\n$body";
}

# A header's value as text (the values of a repeated one joined by ", ").
sub header_text {
    my ($v) = @_;
    return join ', ', @$v if ref $v;
    return $v // '';
}

# cache_is($response_or_value, $expected, $name): the X-SharedCache
# decision is $expected.  Takes a response summary (it reads its {cache})
# or the decision itself, and is exactly is() on that value.  Its
# prototype is is()'s: the first argument is evaluated in scalar context,
# as it was in is($r->{cache}, ...).
sub cache_is ($$;$) {
    my ($got, $expected, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    $got = $got->{cache} if ref $got eq 'HASH';
    return Test::More::is($got, $expected, $name);
}

1;
