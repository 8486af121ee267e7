import { create, toBinary, type DescFile, type DescMessage, type DescService, type MessageInitShape } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import * as v1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { registration, type ServiceRegistration } from "./registration.js";

type Answer = MessageInitShape<typeof v1.ServerReflectionResponseSchema>;

/**
 * gRPC server reflection (grpc.reflection.v1 and the v1alpha that many tools
 * still try first), answering from the descriptors embedded in the generated
 * code: list_services, file_by_filename and file_containing_symbol. Each file
 * answer carries the file and everything it imports, as grpcurl expects.
 */
export function reflectionServices(services: readonly DescService[]): ServiceRegistration[] {
  const index = indexFiles(services);
  const answer = (req: v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest): Answer => {
    const base = { validHost: req.host };
    const fail = (message: string): Answer => ({
      ...base,
      messageResponse: { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: message } },
    });
    const files = (file: DescFile | undefined, what: string): Answer =>
      file === undefined
        ? fail(`${what} is not served here: list the services to see what is`)
        : {
            ...base,
            messageResponse: {
              case: "fileDescriptorResponse",
              value: { fileDescriptorProto: withImports(file).map((f) => toBinary(FileDescriptorProtoSchema, f.proto)) },
            },
          };
    const request = req.messageRequest;
    switch (request.case) {
      case "listServices":
        return {
          ...base,
          messageResponse: {
            case: "listServicesResponse",
            value: { service: services.map((s) => ({ name: s.typeName })) },
          },
        };
      case "fileByFilename":
        return files(index.byFileName.get(request.value), `file ${request.value}`);
      case "fileContainingSymbol":
        return files(index.bySymbol.get(request.value.replace(/^\./, "")), `symbol ${request.value}`);
      case "fileContainingExtension":
      case "allExtensionNumbersOfType":
        return fail("tether's protos declare no extensions");
      case undefined:
        return fail("empty reflection request: set one of the message_request fields");
    }
  };
  return [
    registration(v1.ServerReflection, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) yield create(v1.ServerReflectionResponseSchema, answer(req));
      },
    }),
    registration(v1alpha.ServerReflection, {
      async *serverReflectionInfo(requests) {
        for await (const req of requests) {
          yield create(v1alpha.ServerReflectionResponseSchema, answer(req) as MessageInitShape<typeof v1alpha.ServerReflectionResponseSchema>);
        }
      },
    }),
  ];
}

interface FileIndex {
  readonly byFileName: Map<string, DescFile>;
  readonly bySymbol: Map<string, DescFile>;
}

function indexFiles(services: readonly DescService[]): FileIndex {
  const byFileName = new Map<string, DescFile>();
  const bySymbol = new Map<string, DescFile>();
  const addMessage = (file: DescFile, message: DescMessage): void => {
    bySymbol.set(message.typeName, file);
    for (const nested of message.nestedMessages) addMessage(file, nested);
    for (const nested of message.nestedEnums) bySymbol.set(nested.typeName, file);
  };
  const addFile = (file: DescFile): void => {
    if (byFileName.has(file.proto.name)) return;
    byFileName.set(file.proto.name, file);
    for (const message of file.messages) addMessage(file, message);
    for (const e of file.enums) bySymbol.set(e.typeName, file);
    for (const service of file.services) {
      bySymbol.set(service.typeName, file);
      for (const method of service.methods) bySymbol.set(`${service.typeName}.${method.name}`, file);
    }
    for (const dep of file.dependencies) addFile(dep);
  };
  for (const service of services) addFile(service.file);
  return { byFileName, bySymbol };
}

function withImports(file: DescFile): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (f: DescFile): void => {
    if (seen.has(f.proto.name)) return;
    seen.set(f.proto.name, f);
    f.dependencies.forEach(visit);
  };
  visit(file);
  return [...seen.values()];
}
