// The CLI floor: a bare node:http2 script that makes one gRPC call to the
// daemon (GetDaemonInfo with an empty message) and exits.
import { connect as h2connect } from "node:http2";
import { connect } from "node:net";

const session = h2connect("http://localhost", { createConnection: () => connect(process.argv[2]) });
const req = session.request({ ":method": "POST", ":path": "/tether.v1.DaemonService/GetDaemonInfo", "content-type": "application/grpc", te: "trailers" });
req.on("data", () => {});
req.on("end", () => session.close());
req.end(Buffer.from([0, 0, 0, 0, 0]));
