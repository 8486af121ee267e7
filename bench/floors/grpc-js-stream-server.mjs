// The streaming floor's server: @grpc/grpc-js streaming 64 KiB messages
// (raw bytes, no protobuf work) with 1 MiB flow-control windows.
import * as grpc from "@grpc/grpc-js";

const MESSAGE = Buffer.alloc(64 * 1024, 7);
const server = new grpc.Server({ "grpc-node.flow_control_window": 1 << 20, "grpc.max_send_message_length": 16 << 20 });
server.addService(
  {
    stream: {
      path: "/bench.Floor/Stream",
      requestStream: false,
      responseStream: true,
      requestSerialize: (b) => b,
      requestDeserialize: (b) => b,
      responseSerialize: (b) => b,
      responseDeserialize: (b) => b,
    },
  },
  {
    stream(call) {
      let left = Number(call.request.toString());
      const pump = () => {
        while (left > 0) {
          left--;
          if (!call.write(MESSAGE)) {
            call.once("drain", pump);
            return;
          }
        }
        call.end();
      };
      pump();
    },
  },
);
server.bindAsync(`unix://${process.argv[2]}`, grpc.ServerCredentials.createInsecure(), () => process.stdout.write("ready\n"));
