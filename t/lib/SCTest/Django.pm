package SCTest::Django;

# Owns the Django test site (t/django) an Apache serves when started with
# django => 1: its copy with a migrated sqlite database and two users, the
# three mounts in httpd.conf (/dj, /djv, /djb; none with django_mounts =>
# 0), settings a test adds (django_settings => '...'), and running its
# management commands ($ap->django_manage(...)).

use strict;
use warnings;
use SCTest::Process qw(is_root);

# A copy of t/django in the Apache's directory with its sqlite database
# migrated and two users, alice and bob (password "pw"), writable by the
# unprivileged User.
sub setup {
    my ($ap) = @_;
    my $d = "$ap->{dir}/django";
    system('cp', '-r', "$SCTest::ROOT/t/django", $d) == 0 or die "cp django";
    # The site uses the repository's Python package, and the test memcached.
    system('cp', '-r', "$SCTest::ROOT/python/sharedcache", $d) == 0
        or die "cp sharedcache";
    my $servers = join ' ', map { ref $_ ? $_->addr : $_ }
                            @{ $ap->{memcached} || [] };
    open my $ls, '>', "$d/scsite/local_settings.py" or die $!;
    print $ls "SHAREDCACHE_SERVERS = '$servers'\n";
    # django_settings => '...': Python appended (a test's own settings).
    print $ls $ap->{django_settings} if defined $ap->{django_settings};
    close $ls;
    # Debian's python3, the one mod_wsgi embeds and python3-django serves.
    my $py = "cd $d && /usr/bin/python3 manage.py";
    system("$py migrate -v 0 >/dev/null") == 0 or die "django migrate";
    system("$py shell -c \"from django.contrib.auth.models import User;"
           . " [User.objects.create_user(n, password='pw')"
           . " for n in ('alice', 'bob')]\"") == 0 or die "django users";
    system('chmod', '-R', 'a+rX', $d);
    if (is_root()) {
        # sqlite writes the database and a journal beside it.
        system('chown', '-R', 'www-data:www-data', $d);
    }
}

# The site in httpd.conf ($d: the Apache's directory), mounted three times
# so tests can give each mount its own cache settings.
sub conf {
    my ($d) = @_;
    return <<"DJANGO";
WSGIDaemonProcess djapp processes=2 threads=8 python-path=$d/django display-name=sc-django
<Directory $d/django/scsite>
    Require all granted
</Directory>
WSGIScriptAlias /dj $d/django/scsite/wsgi.py process-group=djapp application-group=%{GLOBAL}
WSGIScriptAlias /djv $d/django/scsite/wsgi.py process-group=djapp application-group=%{GLOBAL}
WSGIScriptAlias /djb $d/django/scsite/wsgi.py process-group=djapp application-group=%{GLOBAL}
DJANGO
}

# Run a Django management command in the test site, as the User Apache's
# children run as (the sqlite database belongs to it).  Returns its exit
# code.
sub manage {
    my ($ap, @args) = @_;
    my @as = is_root() ? ('runuser', '-u', 'www-data', '--') : ();
    my $pid = fork // die $!;
    if (!$pid) {
        chdir "$ap->{dir}/django" or die $!;
        exec @as, '/usr/bin/python3', 'manage.py', @args;
        die "exec: $!";
    }
    waitpid $pid, 0;
    return $? >> 8;
}

1;
