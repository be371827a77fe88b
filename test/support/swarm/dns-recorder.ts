// The swarm's only upstream DNS server: a container on the fixture's network that prints
// the name of every query it receives and answers NXDOMAIN. The nodes' engines are started
// with `--dns` at it, so no lookup made in the swarm (a task's, or an engine's own, such as
// a registry's name) ever leaves the machine, and a test can see which lookups left a node.
import { BASE_IMAGE } from "../docker/git-gate-docker.js";
import { runDocker } from "./docker-process.js";

// perl-base is in the base image; IO::Socket::INET is part of it.
const RECORDER = String.raw`
use IO::Socket::INET;
$| = 1;
my $s = IO::Socket::INET->new(LocalPort => 53, Proto => "udp") or die "dns recorder: $!";
while (1) {
  my $from = $s->recv(my $q, 4096);
  next unless defined $from && length($q) > 12;
  my ($i, @labels) = (12);
  while ($i < length $q) {
    my $n = ord substr($q, $i, 1);
    last if $n == 0 || $n >= 64;
    push @labels, substr($q, $i + 1, $n);
    $i += $n + 1;
  }
  print "query ", join(".", @labels), "\n";
  # The header with QR, RD, RA and NXDOMAIN, then the question alone.
  my $r = substr($q, 0, 2) . pack("n n n n n", 0x8183, 1, 0, 0, 0) . substr($q, 12, $i + 5 - 12);
  send($s, $r, 0, $from);
}
`;

export interface DnsRecorder {
  container: string;
  address: string;
  /** The names asked so far, in order. */
  queries(): Promise<string[]>;
}

export async function startDnsRecorder(options: {
  name: string;
  network: string;
  labels: readonly string[];
}): Promise<DnsRecorder> {
  const { name, network } = options;
  await runDocker([
    "run",
    "-d",
    "--name",
    name,
    "--network",
    network,
    ...options.labels,
    BASE_IMAGE,
    "perl",
    "-e",
    RECORDER,
  ]);
  const format = `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`;
  const address = (await runDocker(["inspect", "-f", format, name])).stdout.trim();
  return dnsRecorderOf({ container: name, address });
}

/** The recorder running as `container` at `address`. */
export function dnsRecorderOf(where: { container: string; address: string }): DnsRecorder {
  const name = where.container;
  return {
    container: name,
    address: where.address,
    async queries() {
      const logs = await runDocker(["logs", name]);
      return logs.stdout
        .split("\n")
        .filter((l) => l.startsWith("query "))
        .map((l) => l.slice("query ".length));
    },
  };
}
