'use strict';

// The test side of link-relay.js: start the relay process (killed by PID however the test
// ends), rewrite each peer's SDP so its only candidate is the relay's socket standing for it,
// and steer the impairments.

const { spawn } = require('child_process');
const path = require('path');
const readline = require('readline');

const CANDIDATE = /^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/im;

class ImpairedLink {
  static async start({ seed = 1 } = {}) {
    const link = new ImpairedLink();
    link.child = spawn(process.execPath, [path.join(__dirname, 'link-relay.js'), JSON.stringify({ seed })], { stdio: ['pipe', 'pipe', 'inherit'] });
    link.lines = [];
    link.waiters = [];
    readline.createInterface({ input: link.child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line);
      const w = link.waiters.findIndex((x) => x.match(msg));
      if (w >= 0) link.waiters.splice(w, 1)[0].resolve(msg);
      else link.lines.push(msg);
    });
    link.ports = (await link.next((m) => m.ports)).ports;
    link.real = {};
    return link;
  }

  next(match) {
    const i = this.lines.findIndex(match);
    if (i >= 0) return Promise.resolve(this.lines.splice(i, 1)[0]);
    return new Promise((resolve, reject) => {
      this.waiters.push({ match, resolve });
      this.child.once('exit', () => reject(new Error('link relay exited')));
    });
  }

  async send(cmd) {
    const ack = Math.random().toString(36).slice(2);
    this.child.stdin.write(JSON.stringify({ ...cmd, ack }) + '\n');
    await this.next((m) => m.ack === ack);
  }

  /**
   * `sdp` of peer `who` ('a' or 'b') as the other peer must see it: every candidate replaced by
   * the relay's socket for `who`. Remembers `who`'s real loopback UDP address.
   */
  async rewrite(who, sdp) {
    const m = CANDIDATE.exec(sdp);
    if (!m) throw new Error(`no 127.0.0.1 UDP host candidate in ${who}'s SDP:\n${sdp}`);
    this.real[who] = `127.0.0.1:${m[1]}`;
    if (this.real.a && this.real.b) await this.send({ peers: this.real });
    const port = this.ports[who];
    const lines = sdp.split(/\r\n/);
    const out = [];
    let placed = new Set();
    let section = -1;
    for (const line of lines) {
      if (line.startsWith('m=')) section++;
      if (line.startsWith('a=candidate:')) {
        if (!placed.has(section)) out.push(`a=candidate:1 1 UDP 2130706431 127.0.0.1 ${port} typ host`);
        placed.add(section);
        continue;
      }
      out.push(line);
    }
    return out.join('\r\n');
  }

  impair(impairments) {
    return this.send({ impair: impairments });
  }

  setDown(down) {
    return this.send({ down });
  }

  async stats() {
    this.child.stdin.write(JSON.stringify({ stats: true }) + '\n');
    return (await this.next((m) => m.stats)).stats;
  }

  close() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

module.exports = { ImpairedLink };
