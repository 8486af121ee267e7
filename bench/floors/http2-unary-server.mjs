// The unary floor's server: bare node:http2 answering every POST with an
// empty gRPC message and OK trailers, on the Unix socket in argv[2].
import { createServer } from "node:http2";

const server = createServer();
server.on("stream", (stream) => {
  stream.on("data", () => {});
  stream.on("end", () => {
    stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
    stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
});
server.listen(process.argv[2], () => process.stdout.write("ready\n"));
