#!/usr/bin/perl
# SPDX-License-Identifier: MIT
# Mutant table tools (tests/mutants/mutants.txt):
#   apply.pl TABLE list            names, one a line, with arch, env, tests
#   apply.pl TABLE apply NAME DIR  copy of src/ under DIR/src, mutated
# Every find must occur exactly once in its file: else the mutant is
# stale, reported as such (exit 3).
use strict;
use warnings;

sub unescape {
	my ($s) = @_;
	$s =~ s/\\(.)/$1 eq 't' ? "\t" : $1 eq 'n' ? "\n" : $1/ge;
	return $s;
}

sub parse {
	my ($table) = @_;
	my (@m, $cur);
	open(my $fh, '<', $table) or die "$table: $!\n";
	while (my $line = <$fh>) {
		chomp $line;
		next if $line =~ /^\s*(#|$)/;
		my ($key, $rest) = $line =~ /^(\w+)\s(.*)$/ or die "$table:$.: bad line\n";
		if ($key eq 'mutant') {
			my ($name, $what) = $rest =~ /^(\S+)\s*(.*)$/;
			$cur = { name => $name, what => $what, edits => [], env => '',
				 arch => '', tests => '' };
			push @m, $cur;
		} elsif (!$cur) {
			die "$table:$.: $key before any mutant\n";
		} elsif ($key eq 'file') {
			$cur->{file} = $rest;
		} elsif ($key eq 'find') {
			push @{$cur->{edits}}, [ $cur->{file}, unescape($rest), undef, $. ];
		} elsif ($key eq 'repl') {
			$cur->{edits}[-1][2] = unescape($rest);
		} elsif ($key =~ /^(env|arch|tests)$/) {
			$cur->{$key} = $rest;
		} else {
			die "$table:$.: unknown key $key\n";
		}
	}
	return @m;
}

my ($table, $cmd, $name, $dir) = @ARGV;
my @mutants = parse($table);
if ($cmd eq 'list') {
	print join("\t", $_->{name}, $_->{arch} || '-', $_->{env} || '-',
		   $_->{tests}, $_->{what}), "\n" for @mutants;
	exit 0;
}
my ($m) = grep { $_->{name} eq $name } @mutants or die "no mutant $name\n";
system('rm', '-rf', "$dir/src") == 0 or die;
system('mkdir', '-p', $dir) == 0 or die;
system('cp', '-R', 'src', "$dir/src") == 0 or die "copy of src/ failed\n";
for my $e (@{$m->{edits}}) {
	my ($file, $find, $repl, $lineno) = @$e;
	my $path = "$dir/$file";
	open(my $in, '<', $path) or do { print "STALE $name: $file: no such file\n"; exit 3 };
	local $/;
	my $text = <$in>;
	close $in;
	my $count = () = $text =~ /\Q$find\E/g;
	if ($count != 1) {
		print "STALE $name: the find of $table line $lineno occurs $count times in $file\n";
		exit 3;
	}
	$text =~ s/\Q$find\E/$repl/;
	open(my $out, '>', $path) or die "$path: $!\n";
	print $out $text;
	close $out;
}
exit 0;
