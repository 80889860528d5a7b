# Configuration: bad values fail "apachectl configtest" naming the
# directive; conf/sharedcache.conf documents exactly the module's
# directives and is itself valid.
use strict;
use warnings;
use Test::More;
use SCTest;

my @bad = (
    [ 'SharedCacheServers 127.0.0.1:99999',     'SharedCacheServers' ],
    [ 'SharedCacheServers host:port',           'SharedCacheServers' ],
    [ 'SharedCacheServers fe80::1:11211',       'SharedCacheServers' ],
    [ 'SharedCacheServers [::1',              'SharedCacheServers' ],
    [ 'SharedCacheTimeout 0',                   'SharedCacheTimeout' ],
    [ 'SharedCacheTimeout 100ms',               'SharedCacheTimeout' ],
    [ 'SharedCacheRetryInterval -1',            'SharedCacheRetryInterval' ],
    [ 'SharedCachePrefix "a b"',                'SharedCachePrefix' ],
    [ 'SharedCachePrefix ' . ('p' x 65),        'SharedCachePrefix' ],
    [ 'SharedCacheKeepDecoded 9M',              'SharedCacheKeepDecoded' ],
    [ 'SharedCacheKeepDecoded lots',            'SharedCacheKeepDecoded' ],
    [ 'SharedCacheKeepDecoded -1',              'SharedCacheKeepDecoded' ],
    [ "<VirtualHost *:80>\nSharedCacheKeepDecoded 1M\n</VirtualHost>",
      'SharedCacheKeepDecoded' ],
    [ "<Location />\nSharedCache Maybe\n</Location>", 'SharedCache' ],
    [ "<Location />\nSharedCacheTTL -5\n</Location>", 'SharedCacheTTL' ],
    [ "<Location />\nSharedCacheTTL ten\n</Location>", 'SharedCacheTTL' ],
    [ "<Location />\nSharedCacheMaxTTL 0\n</Location>", 'SharedCacheMaxTTL' ],
    [ "<Location />\nSharedCacheStatuses 200 500\n</Location>",
      'SharedCacheStatuses' ],
    [ "<Location />\nSharedCacheStatuses 206\n</Location>",
      'SharedCacheStatuses' ],
    [ "<Location />\nSharedCacheStatuses 2000\n</Location>",
      'SharedCacheStatuses' ],
    [ "<Location />\nSharedCacheMaxSize 8X\n</Location>",
      'SharedCacheMaxSize' ],
    [ "<Location />\nSharedCacheMaxSize 0\n</Location>",
      'SharedCacheMaxSize' ],
    [ "<Location />\nSharedCacheHeader yes\n</Location>",
      'SharedCacheHeader' ],
    [ "<Location />\nSharedCacheServers 127.0.0.1:1\n</Location>",
      'SharedCacheServers' ],
    [ "<Location />\nSharedCacheVaryByCookie a=b\n</Location>",
      'SharedCacheVaryByCookie' ],
    [ "<Location />\nSharedCacheVaryByHeader \"X Y\"\n</Location>",
      'SharedCacheVaryByHeader' ],
    [ "<Location />\nSharedCacheVary \"%{ENV:x\"\n</Location>",
      'SharedCacheVary' ],
    [ "<Location />\nSharedCacheIgnoreQuery a&b\n</Location>",
      'SharedCacheIgnoreQuery' ],
    [ "<Location />\nSharedCacheBypassCookie \"\"\n</Location>",
      'SharedCacheBypassCookie' ],
    [ "<Location />\nSharedCacheLockTimeout 0\n</Location>",
      'SharedCacheLockTimeout' ],
    [ "<Location />\nSharedCacheGrace -1\n</Location>", 'SharedCacheGrace' ],
    [ "<Location />\nSharedCacheStaleOnError 1h\n</Location>",
      'SharedCacheStaleOnError' ],
    [ "<Location />\nSharedCacheLock maybe\n</Location>", 'SharedCacheLock' ],
    [ "<Location />\nSharedCacheNamespace \"a b\"\n</Location>",
      'SharedCacheNamespace' ],
    [ "<Location />\nSharedCacheTagHeader \"X Y\"\n</Location>",
      'SharedCacheTagHeader' ],
    # The quick handler runs before sections are merged: a quick section
    # cannot set its own variance, in either order.
    [ "<Location /q>\nSharedCacheQuickHandler On\n"
      . "SharedCacheVaryByCookie sessionid\n</Location>",
      'SharedCacheQuickHandler' ],
    [ "<Location /q>\nSharedCacheBypassCookie sessionid\n"
      . "SharedCacheQuickHandler On\n</Location>",
      'SharedCacheQuickHandler' ],
    [ "<Location /q>\nSharedCacheQuickHandler On\n"
      . "SharedCacheVaryByUser On\n</Location>",
      'SharedCacheQuickHandler' ],
    [ "<Directory /tmp>\nSharedCacheQuickHandler On\n</Directory>",
      'SharedCacheQuickHandler' ],
    # the namespace's counter is the quick handler's, the virtual host's:
    # a section's own namespace would make quick mode never hit
    [ "<Location /q>\nSharedCacheQuickHandler On\n"
      . "SharedCacheNamespace blog\n</Location>",
      'SharedCacheQuickHandler' ],
    # Quick mode serves before access control: a protected part of a quick
    # space would be served to anyone.
    [ "<Location /pub>\nSharedCacheQuickHandler On\n</Location>\n"
      . "<Location /pub/internal>\nRequire ip 10.0.0.0/8\n</Location>",
      'SharedCacheQuickHandler' ],
    [ "<Location /pub/x>\nRequire env allowed\n</Location>\n"
      . "<Location /pub>\nSharedCacheQuickHandler On\n</Location>",
      'SharedCacheQuickHandler' ],
    [ "<VirtualHost *:80>\nSharedCacheQuickHandler On\n"
      . "<Location /admin>\nRequire host intranet.example\n"
      . "</Location>\n</VirtualHost>", 'SharedCacheQuickHandler' ],
);
for my $case (@bad) {
    my ($conf, $directive) = @$case;
    my ($rc, $out) = SCTest::Apache->configtest($conf);
    (my $label = $conf) =~ s/\n/ /g;
    isnt($rc, 0, "configtest fails: $label");
    like($out, qr/\Q$directive\E/, "  and names $directive");
}
# Off is the word for nothing kept: a 0 (or a size too large to read)
# is told so, with the bound.
for my $v ('0', '2000G') {
    my ($rc, $out) = SCTest::Apache->configtest("SharedCacheKeepDecoded $v");
    isnt($rc, 0, "configtest fails: SharedCacheKeepDecoded $v");
    like($out, qr/SharedCacheKeepDecoded: '\Q$v\E' is not a size .*at most 8M\) or Off/,
         '  and says what is: a size of at most 8M, or Off');
}

my ($rc, $out) = SCTest::Apache->configtest(<<'CONF');
SharedCacheServers 127.0.0.1:11211 127.0.0.2:11212 [::1]:11213 [::2] /run/mc.sock
SharedCacheTimeout 250
SharedCacheRetryInterval 0
SharedCachePrefix site1
SharedCacheKeepDecoded 512K
<Location />
    SharedCache On
    SharedCacheTTL 2592001
    SharedCacheForceTTL On
    SharedCacheMaxTTL 31536000
    SharedCacheStatuses 200 404
    SharedCacheMaxSize 512K
    SharedCacheHeader Off
    SharedCacheVaryByCookie sessionid csrftoken
    SharedCacheVaryByHeader Accept-Language X-Forwarded-Proto
    SharedCacheVaryByUser On
    SharedCacheVary "%{ENV:role}" "%{HTTP:X-Tenant}"
    SharedCacheBypassCookie wordpress_logged_in
    SharedCacheIgnoreQuery utm_* fbclid
</Location>
SharedCacheVaryByCookie lang
<Location /public>
    SharedCacheQuickHandler On
</Location>
<Location /private>
    Require ip 10.0.0.0/8
</Location>
<Location /public/open>
    Require all granted
</Location>
CONF
is($rc, 0, 'a configuration using every directive is valid') or diag $out;

# conf/sharedcache.conf against the module's command table (its source:
# the server directives in sc_config.c, the directory ones in the table).
my $code = '';
for my $f (qw(sc_config.c sc_directives.def)) {
    open my $src, '<', "$SCTest::ROOT/src/$f" or die $!;
    $code .= do { local $/; <$src> };
}
my %table = map { $_ => 1 }
    $code =~ /(?:AP_INIT_\w+|SC_DIR)\(\s*"(SharedCache\w*)"/g;
open my $fh, '<', "$SCTest::ROOT/conf/sharedcache.conf" or die $!;
my $text = do { local $/; <$fh> };
my %documented;
# A block: "# Directive syntax" then "#   ..." lines with Default and Context.
while ($text =~ /^# (SharedCache\w*) .*\n((?:#   .*\n)+)/mg) {
    my ($name, $block) = ($1, $2);
    $documented{$name} = 1
        if $block =~ /Default: \S/ && $block =~ /Context: \S/;
}
cmp_ok(scalar keys %table, '>=', 11, 'the command table was found');
is_deeply([sort keys %documented], [sort keys %table],
          'conf/sharedcache.conf documents exactly the module\'s directives,'
          . ' each with a default and a context');

($rc, $out) = SCTest::Apache->configtest(
    "Include $SCTest::ROOT/conf/sharedcache.conf\n");
is($rc, 0, 'conf/sharedcache.conf itself is valid') or diag $out;

# Every example line (#SharedCacheX default), uncommented, is accepted by
# the loaded module: the documented defaults are valid values.
my @examples = $text =~ /^#(SharedCache\w* .*)$/mg;
my %example_of = map { (split ' ', $_)[0] => 1 } @examples;
my @server = grep { /^SharedCache(Servers|FallbackServers|Timeout|RetryInterval|Prefix|Local|KeepDecoded) / }
             @examples;
my @dir = grep { !/^SharedCache(Servers|FallbackServers|Timeout|RetryInterval|Prefix|Local|KeepDecoded) / }
          @examples;
($rc, $out) = SCTest::Apache->configtest(join("\n", @server,
    '<Location />', @dir, '</Location>', ''));
is($rc, 0, 'every documented default, uncommented, is accepted')
    or diag $out;
is_deeply([sort keys %example_of],
          [sort grep { $_ ne 'SharedCacheServers' } keys %table],
          'every directive but SharedCacheServers (set above) has an example');
# A quick-mode refusal names the SharedCacheQuickHandler line itself, not
# the <VirtualHost> around it.
{
    my ($rc, $out) = SCTest::Apache->configtest(
        "<VirtualHost *:80>\nServerName q.example\n"
        . "SharedCacheQuickHandler On\n<Location /admin>\n"
        . "Require host intranet.example\n</Location>\n</VirtualHost>");
    isnt($rc, 0, 'quick mode next to a protected <Location> in a virtual host fails');
    like($out, qr/SharedCacheQuickHandler On \([^)]*httpd\.conf:(\d+)\)/,
         'and names a line of the configuration');
    my ($n) = $out =~ /SharedCacheQuickHandler On \([^)]*httpd\.conf:(\d+)\)/;
    ok($n && $n > 1, "the line is the directive's ($n), not the <VirtualHost>'s")
        or diag($out);
}

# SharedCache On with no TTL anywhere that applies: a notice naming the
# directive's line (start-up and configtest); none where a TTL applies.
{
    my ($rc, $out) = SCTest::Apache->configtest(<<'CONF');
<Location /nottl>
    SharedCache On
</Location>
<Location /withttl>
    SharedCache On
    SharedCacheTTL 60
</Location>
<Location /outer>
    SharedCacheTTL 300
</Location>
<Location /outer/inner>
    SharedCache On
</Location>
CONF
    is($rc, 0, 'SharedCache On without a TTL is valid');
    my @n = $out =~ /SC0108: SharedCache On \(\S+:(\d+)\) without SharedCacheTTL/g;
    is(scalar @n, 1, 'one notice: for the section with no TTL anywhere')
        or diag($out);
}
my $nmc = SCTest::Memcached->start;
my $nap = SCTest::Apache->start(memcached => [$nmc], conf => <<'CONF');
<Location /app>
    SharedCache On
</Location>
CONF
my @said = $nap->error_log =~ /(SC0108: SharedCache On \(\S+\) without SharedCacheTTL)/g;
is(scalar @said, 1, 'said once at start-up, in the error log')
    or diag($nap->error_log);
like($said[0] // '', qr/httpd\.conf:\d+\)/, 'with the file and line of the directive');
$nap->stop;

done_testing;
