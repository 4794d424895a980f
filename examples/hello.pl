# Statistics of the integers on standard input (one per line), as JSON,
# with the core modules List::Util and JSON::PP.
#
#     seq 10 | ward run -- perl examples/hello.pl
use strict;
use warnings;
use JSON::PP;
use List::Util qw(max min sum0 uniqnum);

my @n = grep { /^-?\d+$/ } map { chomp; $_ } <STDIN>;
my %stats = (
    count    => scalar @n,
    sum      => sum0(@n),
    min      => min(@n),
    max      => max(@n),
    distinct => scalar(uniqnum(@n)),
);
print JSON::PP->new->canonical->encode(\%stats), "\n";
