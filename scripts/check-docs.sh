#!/usr/bin/env bash
# Checks that the docs and the code agree:
#
#  1. Every flag of every rtctl subcommand, every HTTP endpoint (router.Add), every
#     metric (Add…Counter/Gauge/Histogram, AddLabeledGauge) and every top-level config key has exactly
#     one reference entry in README.md or docs/*.md, and every entry names something
#     that exists.
#  2. Every design reference in a code comment (`docs/design.md §N "Title"`) names a
#     section heading of docs/design.md, with its title; none cites DESIGN.md.
#
# A reference entry is a row of a Markdown table that follows a marker comment
# (blank lines between are allowed):
#
#     <!-- ref: flags SCOPE... -->         rows document the flags of these scopes:
#                                          a subcommand (`send`), `rtctl` for the
#                                          top level, `a:b` for `rtctl a b`
#     <!-- ref: endpoints api|worker -->   rows `METHOD /path?...` of that node kind
#     <!-- ref: metrics -->                rows `rt_name{labels}`
#     <!-- ref: config-keys -->            rows `key`
#
# The names are the backticked items of the row's first cell (`--count N` documents
# --count; `FILE` and other items that are not flags are ignored). A new flag,
# endpoint, metric or key therefore needs one new row in the right table.
#
# Flags come from `rtctl --help` and `rtctl SUB --help` rather than from grepping the
# add_option calls: helpers (AddClientOptions, AddHourOption) pass names through
# variables, and the help is what users see. As a cross-check, every "--flag" string
# literal in cli/*.cpp must appear in some subcommand's help.
#
# Usage: scripts/check-docs.sh [RTCTL]   (default: build/cli/rtctl)
# Exit 0 when everything agrees, 1 listing every problem, 2 on a usage error.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rtctl=${1:-$root/build/cli/rtctl}
if [[ ! -x "$rtctl" ]]; then
  echo "check-docs: no rtctl at $rtctl (build first, or pass its path)" >&2
  exit 2
fi

defined=$(mktemp)
trap 'rm -f "$defined"' EXIT

# Flags, from the help of rtctl and of every subcommand (recursively, for nested
# ones: `rtctl a b --help` is scope "a:b"): the first field of an option line, split
# at commas ("-h,--help"); --help and --help-all are CLI11's own.
subcommands_in() { awk '/^Subcommands:/ {s = 1; next} s && NF == 0 {s = 0} s {print $1}'; }
flags_in() {
  awk -v scope="$1" '
    $1 ~ /^-/ {
      n = split($1, names, ",")
      for (i = 1; i <= n; i++) {
        if (names[i] ~ /^--/ && names[i] != "--help" && names[i] != "--help-all") {
          print "flag\t" scope "\t" names[i]
        }
      }
    }'
}
collect() {  # collect WORDS...: the flags of `rtctl WORDS... --help` and below
  local help scope sub
  help=$("$rtctl" "$@" --help)
  if [[ $# -eq 0 ]]; then scope=rtctl; else scope=$(IFS=:; echo "$*"); fi
  flags_in "$scope" <<<"$help" >>"$defined"
  [[ $# -lt 3 ]] || return 0  # no deeper nesting than `rtctl a b c`
  for sub in $(subcommands_in <<<"$help"); do
    collect "$@" "$sub"
  done
}
collect
if ! grep -q . "$defined"; then
  echo "check-docs: found no flags in \`$rtctl --help\`" >&2
  exit 1
fi

ROOT="$root" DEFINED="$defined" perl -CSD -Mutf8 - <<'PERL'
use strict;
use warnings;
use File::Find;

my $root = $ENV{ROOT};
my @problems;

sub slurp {
  my ($path) = @_;
  open(my $fh, "<:encoding(UTF-8)", $path) or die "check-docs: cannot read $path: $!\n";
  local $/;
  return <$fh>;
}

sub files_under {
  my ($dirs, $pattern) = @_;
  my @found;
  for my $dir (@$dirs) {
    next unless -d "$root/$dir";
    find({ no_chdir => 1, wanted => sub {
      push @found, $File::Find::name if -f $_ && $File::Find::name =~ $pattern;
    } }, "$root/$dir");
  }
  return sort @found;
}

sub rel { my ($p) = @_; $p =~ s{^\Q$root\E/}{}; return $p; }

# --- what the code defines: "kind\tscope\tname" ---
my %defined;
open(my $df, "<", $ENV{DEFINED}) or die;
while (<$df>) { chomp; $defined{$_} = 1 if length; }
close $df;
my %help_flags = map { (split /\t/)[2] => 1 } keys %defined;

for my $file (files_under(["cli"], qr/\.cpp$/)) {
  my $text = slurp($file);
  while ($text =~ /"(--[a-z0-9][a-z0-9-]*)"/g) {
    my $flag = $1;
    next if $flag eq "--help" || $flag eq "--help-all";
    push @problems, "code: " . rel($file) . " names flag $flag, which no subcommand's --help lists"
      unless $help_flags{$flag};
  }
}

for my $file (files_under(["server"], qr/\.cpp$/)) {
  my $text = slurp($file);
  my ($scope) = rel($file) =~ m{^server/([^/]+)/};
  $scope //= "server";
  while ($text =~ /router\.Add\(\s*(?:http::)?Verb::(\w+)\s*,\s*"([^"]+)"/g) {
    $defined{"endpoint\t$scope\t" . uc($1) . " $2"} = 1;
  }
}

for my $file (files_under(["base", "config", "server", "sim", "cli"], qr/\.(cpp|h)$/)) {
  my $text = slurp($file);
  while ($text =~ /\bAdd(?:Callback|Labeled)?(?:Counter|Gauge|Histogram)\(\s*"([A-Za-z_:][A-Za-z0-9_:]*)"/g) {
    $defined{"metric\t-\t$1"} = 1;
  }
}

{
  my $loader = "$root/config/config_loader.cpp";
  my $text = -f $loader ? slurp($loader) : "";
  if ($text =~ /kTopLevelKeys\s*=\s*\{(.*?)\}/s) {
    my $list = $1;
    $defined{"config-key\t-\t$1"} = 1 while $list =~ /"([^"]+)"/g;
  }
}

for my $kind ("flag", "endpoint", "metric", "config-key") {
  push @problems, "check-docs: found no ${kind}s in the code (has the code moved? update this script)"
    unless grep { /^\Q$kind\E\t/ } keys %defined;
}

# --- what the docs document ---
my %documented;  # "kind\tscope\tname" -> [locations]
my %kinds = ("flags" => "flag", "endpoints" => "endpoint", "metrics" => "metric",
             "config-keys" => "config-key");
my @docs = ("$root/README.md", files_under(["docs"], qr/\.md$/));
for my $file (@docs) {
  next unless -f $file;
  my @lines = split /\n/, slurp($file), -1;
  for (my $i = 0; $i < @lines; $i++) {
    next unless $lines[$i] =~ /^\s*<!--\s*ref:\s*(\S+)((?:\s+[^\s-][^\s]*)*)\s*-->/;
    my ($marker, $scope_text) = ($1, $2);
    my $kind = $kinds{$marker};
    if (!defined $kind) {
      push @problems, "docs: " . rel($file) . ":" . ($i + 1) . ": unknown marker \"ref: $marker\"";
      next;
    }
    my @scopes = split " ", $scope_text;
    @scopes = ("-") if $kind eq "metric" || $kind eq "config-key";
    if (!@scopes) {
      push @problems, "docs: " . rel($file) . ":" . ($i + 1) . ": marker \"ref: $marker\" names no scope";
      next;
    }
    my $j = $i + 1;
    $j++ while $j < @lines && $lines[$j] =~ /^\s*$/;
    if ($j >= @lines || $lines[$j] !~ /^\s*\|/) {
      push @problems, "docs: " . rel($file) . ":" . ($i + 1) . ": marker \"ref: $marker\" is not followed by a table";
      next;
    }
    for (; $j < @lines && $lines[$j] =~ /^\s*\|/; $j++) {
      my @cells = split /(?<!\\)\|/, $lines[$j];
      my $first = $cells[1] // "";
      my @names;
      for my $item ($first =~ /`([^`]+)`/g) {
        if ($kind eq "flag") {
          my ($word) = split " ", $item;
          push @names, $word if defined $word && $word =~ /^--[a-z0-9]/;
        } elsif ($kind eq "endpoint") {
          push @names, "$1 $2" if $item =~ m{^(GET|POST|PUT|DELETE|PATCH|HEAD)\s+(/[^?\s]*)};
        } elsif ($kind eq "metric") {
          push @names, $1 if $item =~ /^([A-Za-z_:][A-Za-z0-9_:]*)/;
        } else {
          push @names, $item if $item =~ /^[A-Za-z0-9_-]+$/;
        }
      }
      for my $scope (@scopes) {
        for my $name (@names) {
          push @{ $documented{"$kind\t$scope\t$name"} }, rel($file) . ":" . ($j + 1);
        }
      }
    }
    $i = $j - 1;
  }
}

sub show { my ($key) = @_; my ($k, $s, $n) = split /\t/, $key; return $s eq "-" ? "$k $n" : "$k $s $n"; }

for my $key (sort keys %defined) {
  my $where = $documented{$key};
  if (!$where) {
    push @problems, "missing: " . show($key) . " has no reference entry in README.md or docs/";
  } elsif (@$where > 1) {
    push @problems, "twice: " . show($key) . " is documented " . scalar(@$where) . " times: " . join(", ", @$where);
  }
}
for my $key (sort keys %documented) {
  next if $defined{$key};
  push @problems, "unknown: " . show($key) . " is documented at " . join(", ", @{ $documented{$key} }) .
                  " but not in the code";
}

# --- design references in code comments ---
my $design_path = "$root/docs/design.md";
my %sections;
if (-f $design_path) {
  for (split /\n/, slurp($design_path)) {
    $sections{$1} = $2 if /^##\s+§(\d+)\s+(.*?)\s*$/;
  }
} else {
  push @problems, "design: docs/design.md does not exist";
}
my @code = files_under(["base", "config", "server", "sim", "cli", "cmake", "tests", "examples",
                        "bench", "scripts"],
                       qr{(\.(h|cpp|cmake|sh|lua)|/CMakeLists\.txt)$});
push @code, "$root/CMakeLists.txt", "$root/Makefile";
for my $file (@code) {
  next unless -f $file;
  next if $file eq "$root/scripts/check-docs.sh";
  my $text = slurp($file);
  # One comment wrapped over several lines reads as one line.
  (my $joined = $text) =~ s/\n[ \t]*(?:\/\/|#)[ \t]*/ /g;
  while ($text =~ /(DESIGN(?:\.md)?\s+§\d+)/g) {
    push @problems, "design: " . rel($file) . " cites \"$1\"; the design is docs/design.md";
  }
  while ($joined =~ /§(\d+)(?:\s+"([^"]*)")?/g) {
    my ($number, $title) = ($1, $2);
    if (!exists $sections{$number}) {
      push @problems, "design: " . rel($file) . " cites §$number, which docs/design.md does not have";
    } elsif (defined $title && $title =~ /\S/) {
      (my $want = $sections{$number}) =~ s/\s+/ /g;
      (my $got = $title) =~ s/\s+/ /g;
      push @problems, "design: " . rel($file) . " cites §$number \"$got\"; its title is \"$want\""
        if $got ne $want;
    }
  }
}

if (@problems) {
  print STDERR "$_\n" for @problems;
  print STDERR "check-docs: " . scalar(@problems) . " problem(s); conventions: docs/operations.md, \"Docs check\"\n";
  exit 1;
}
my $count = keys %defined;
print "check-docs: ok: $count flags, endpoints, metrics and config keys documented once; design references resolve\n";
PERL
