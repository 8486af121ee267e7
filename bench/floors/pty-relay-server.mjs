// The keystroke floor's relay: bare node:http2 on the Unix socket in argv[2]
// and one node-pty `cat` per stream, each request byte written to the
// terminal and each terminal read written back. Three processes on the
// keystroke's path as with the daemon (client, relay, program), no tether code.
import { createServer } from "node:http2";
import * as pty from "node-pty";

const server = createServer();
server.on("stream", (stream) => {
  stream.respond({ ":status": 200 });
  const term = pty.spawn("cat", [], { cols: 80, rows: 24, encoding: null });
  term.onData((data) => stream.write(data));
  stream.on("data", (data) => term.write(data));
  stream.on("close", () => term.kill());
});
server.listen(process.argv[2], () => process.stdout.write("ready\n"));
