// rxd-client: the framework-agnostic core. React bindings live in "rxd-client/react".
export { ActionError } from "./actions";
export { ContextChannel } from "./channel";
export { CloseCode } from "./types";
export type {
  ChannelError,
  ChannelErrorKind,
  ChannelModel,
  ChannelOptions,
  ChannelSnapshot,
  FlatInstance,
  HeartbeatOptions,
  InstanceRef,
  Key,
  ReconnectOptions,
  RelationModel,
  ServerError,
  SystemLevel,
  SystemMessage,
  TypeModel,
  WebSocketConstructor,
  WebSocketLike,
  WritableList,
  WriteModel,
} from "./types";
export type { WriteRequest } from "./protocol";
