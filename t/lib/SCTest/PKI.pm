package SCTest::PKI;

# Owns the test PKI for TLS tests: SCTest::test_pki() (imported into
# SCTest from here) makes a CA, a server certificate and two client
# certificates with the openssl command; tls_get() sends a request over
# TLS with one of them; tls_vhost() is the configuration of a TLS virtual
# host with its server certificate.

use strict;
use warnings;
use Exporter 'import';
use SCTest::Process qw(workdir);
use SCTest::HTTP;
use Time::HiRes ();

our @EXPORT_OK = qw(test_pki tls_get tls_vhost);

# A test PKI made with the openssl command: a CA (ca.crt), a server
# certificate for 127.0.0.1 (server.crt/.key) and client certificates with
# CN alice and bob (alice.crt/.key, bob.crt/.key).  Returns its directory.
sub test_pki {
    my $pki = workdir();
    # Run a command quietly (openssl chats on stderr); die if it fails.
    my $run = sub {
        open my $err, '>&', \*STDERR or die $!;
        open STDERR, '>', "$pki/openssl.log" or die $!;
        my $rc = system(@_);
        open STDERR, '>&', $err or die $!;
        $rc == 0 or die "failed (see $pki/openssl.log): @_";
    };
    my $ext_file = sub {
        my ($name, $text) = @_;
        open my $fh, '>', "$pki/$name.ext" or die $!;
        print $fh $text;
        close $fh;
        return "$pki/$name.ext";
    };
    my @ec = ('-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
              '-nodes');
    $run->(qw(openssl req -x509 -new -days 2 -subj /CN=sc-test-ca), @ec,
        '-keyout', "$pki/ca.key", '-out', "$pki/ca.crt");
    for ([server => '127.0.0.1', "subjectAltName=IP:127.0.0.1\n"
                                 . "extendedKeyUsage=serverAuth\n"],
         [alice => 'alice', "extendedKeyUsage=clientAuth\n"],
         [bob => 'bob', "extendedKeyUsage=clientAuth\n"]) {
        my ($name, $cn, $ext) = @$_;
        $run->(qw(openssl req -new), @ec, '-subj', "/CN=$cn",
            '-keyout', "$pki/$name.key", '-out', "$pki/$name.csr");
        $run->(qw(openssl x509 -req -days 2 -CAcreateserial),
            '-in', "$pki/$name.csr", '-CA', "$pki/ca.crt", '-CAkey',
            "$pki/ca.key", '-out', "$pki/$name.crt",
            '-extfile', $ext_file->($name, "basicConstraints=CA:FALSE\n$ext"));
    }
    chmod 0644, glob "$pki/*";
    return $pki;
}

# GET https://127.0.0.1:PORT/PATH on Apache $ap (the PKI in $pki) as
# client "alice", "bob" or nobody (no certificate), with curl.  curl stops
# at the end of the body; waiting for the access log line makes sure the
# request (and the store after a MISS) is over before the next one is
# sent.  Returns SCTest::HTTP::parse_response's hash.
# The configuration of a TLS virtual host on 127.0.0.1:$port with the test
# PKI's server certificate and CA (certificates up to two deep); $inner goes
# inside it (SSLVerifyClient, SSLOptions, locations).
sub tls_vhost {
    my ($pki, $port, $inner) = @_;
    return <<"CONF";
Listen 127.0.0.1:$port
SSLSessionCache shmcb:\@DIR\@/ssl_scache(512000)
<VirtualHost 127.0.0.1:$port>
    ServerName 127.0.0.1
    SSLEngine on
    SSLCertificateFile $pki/server.crt
    SSLCertificateKeyFile $pki/server.key
    SSLCACertificateFile $pki/ca.crt
    SSLVerifyDepth 2
$inner</VirtualHost>
CONF
}

sub tls_get {
    my ($ap, $pki, $port, $path, $who) = @_;
    my $lines = sub {
        open my $fh, '<', $ap->dir . '/access_log' or return 0;
        my $n = 0;
        $n++ while <$fh>;
        return $n;
    };
    my @cert = $who ? ('--cert', "$pki/$who.crt", '--key', "$pki/$who.key")
                    : ();
    my $before = $lines->();
    open my $fh, '-|', 'curl', '-sS', '-i', '--http1.1', '--max-time', '30',
        '--cacert', "$pki/ca.crt", @cert, "https://127.0.0.1:$port$path"
        or die "curl: $!";
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    my $until = Time::HiRes::time() + 5;
    Time::HiRes::sleep(0.02)
        while $lines->() <= $before && Time::HiRes::time() < $until;
    # curl has taken the transfer coding off the body already.
    return SCTest::HTTP::parse_response($out, decoded => 1);
}

1;
