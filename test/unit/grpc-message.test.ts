import { describe, expect, it } from "vitest";
import { grpcMessage } from "../../daemon/grpc-call.js";

describe("grpc-message encoding", () => {
  it("percent-encodes only what gRPC's spec says (bytes outside printable ASCII, and %), so decodeURI and decodeURIComponent both read it back", () => {
    const text = "offset 99: past the end, 100% sure; naïve\nnext line";
    const encoded = grpcMessage(text);
    expect(encoded).toBe("offset 99: past the end, 100%25 sure; na%C3%AFve%0Anext line");
    expect(decodeURI(encoded)).toBe(text);
    expect(decodeURIComponent(encoded)).toBe(text);
  });

  it("percent-encodes spaces at either end, which an HTTP/2 field value must not have (a client would drop the message)", () => {
    const text = "  is not one of a, b, ";
    const encoded = grpcMessage(text);
    expect(encoded).toBe("%20%20is not one of a, b,%20");
    expect(decodeURIComponent(encoded)).toBe(text);
  });
});
