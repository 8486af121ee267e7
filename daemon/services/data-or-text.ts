import { invalidArgument } from "../errors.js";

/** A request's payload given as bytes (`data`) or, for JSON clients such as curl, as text (`text`): one of them. */
export function dataOrText(req: { readonly data: Uint8Array; readonly text: string }): { bytes: Uint8Array; isText: boolean } {
  if (req.data.byteLength > 0 && req.text !== "") throw invalidArgument("text", "set data or text, not both");
  return req.text !== "" ? { bytes: Buffer.from(req.text), isText: true } : { bytes: req.data, isText: false };
}
