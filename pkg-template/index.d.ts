// Types of the Attune SDK. They describe the runtime in index.js / attune.js exactly; the
// TypeScript example (examples/vite-app/src/api-tour.ts) calls every method under `tsc --noEmit`.

/** Stable error codes. The glue raises the first group; the Rust core the second. */
export type AttuneErrorCode =
  | 'invalid_argument' | 'model_load' | 'device' | 'storage' | 'quota_exceeded' | 'aborted' | 'closed'
  | 'unsupported' | 'busy' | 'internal'
  | 'model_format' | 'model_unsupported' | 'tokenizer' | 'chat_template' | 'input_too_large' | 'compute'
  | 'io' | 'storage_unavailable' | 'version_too_new' | 'corrupt_record' | 'invalid_import';

export declare class AttuneError extends Error {
  constructor(code: AttuneErrorCode, message: string, options?: ErrorOptions);
  readonly name: 'AttuneError';
  readonly code: AttuneErrorCode;
}

/** Where a model comes from. The sha256 (hex) is checked before the bytes are used or kept. */
export interface ModelSource {
  url: string | URL;
  sha256?: string;
}

export interface AssistantSource extends ModelSource {
  /** Context window in tokens (default: the model's, capped by the SDK). */
  context?: number;
}

export type Device = 'auto' | 'gpu' | 'cpu';

export interface ProgressEvent {
  model: 'embedder' | 'assistant';
  /** `download` repeats as bytes arrive; `ready` once the bytes are at hand (from cache or network). */
  phase: 'download' | 'verify' | 'store' | 'ready' | 'load';
  loaded: number;
  /** Bytes expected, when the server said. */
  total: number | undefined;
  fromCache: boolean;
}

export interface OpenOptions {
  /** Profile namespace: 1-64 of A-Z a-z 0-9 . _ - (one IndexedDB database each). */
  namespace: string;
  embedder: ModelSource;
  /** The chat model; downloaded on the first `assistant.reply`. */
  assistant?: AssistantSource;
  device?: Device;
  onProgress?: (event: ProgressEvent) => void;
  /** Run in a dedicated module worker (default true); false runs in the calling context. */
  worker?: boolean;
  /** Keep downloaded models in the Cache API / IndexedDB (default true). */
  cache?: boolean;
  /** Where the .wasm is, if not beside the package's files. */
  wasmUrl?: string | URL;
}

export type EventType =
  | 'view' | 'click' | 'dwell' | 'like' | 'share' | 'purchase' | 'dislike' | 'dismiss' | 'hide' | 'search';

export interface Item {
  id: string;
  /** What gets embedded (title, summary…). */
  text?: string;
  tags?: string[];
  url?: string;
  /** Other fields of the page's own item objects are allowed and ignored. */
  [extra: string]: unknown;
}

export interface TrackEvent {
  type: EventType;
  item: Item;
  /** Multiplies the type's weight (default 1). */
  weight?: number;
  /** For `dwell`: seconds spent. */
  seconds?: number;
  /** For `search`: the query (required). */
  query?: string;
  /** When it happened, ms since the epoch (default now). */
  at?: number;
}

export type ForgetWhat =
  | { itemId: string }
  | { tag: string }
  | { memoryId: string }
  | { before: number }
  | { from?: number; to?: number };

export interface ForgetReport {
  removed: number;
  /** False when some influence was already compacted into aggregates and stays. */
  exact: boolean;
}

export interface Interest {
  id: number;
  weight: number;
  events: number;
  firstAt: number;
  lastAt: number;
  /** Recent items behind this interest, newest first. */
  items: string[];
}

export interface Profile {
  model: string | null;
  interests: Interest[];
  negatives: Interest[];
  tags: { tag: string; affinity: number; events: number }[];
  recent: { id: string; lastType: EventType; events: number; lastAt: number; text?: string; tags: string[] }[];
  hidden: string[];
  memories: { id: string; text: string; createdAt: number }[];
  stats: { events: number; byType: Partial<Record<EventType, number>>; firstAt: number | null; lastAt: number | null; bytes: number };
}

export interface Info {
  namespace: string;
  backend: string;
  devices: string[];
  device: { asked: Device; used: string; why: string };
  embedder: { id: string; name: string; dim: number; bytes: number };
  assistant: { loaded: true; name: string; context: number; backend: string } | { loaded: false; configured: boolean };
  storage: { profileBytes: number; cacheBytes: number; originUsage?: number; originQuota?: number };
}

export interface Signalled {
  signal?: AbortSignal;
}

export interface RankOptions extends Signalled {
  limit?: number;
  /** 0 (pure relevance) … 1 (most varied). */
  diversity?: number;
  /** Share of slots given to items outside the known interests, 0 … 1. */
  explore?: number;
}

export interface Ranked {
  id: string;
  score: number;
  reasons: string[];
}

export interface SimilarOptions extends Signalled {
  limit?: number;
}

export interface Similar {
  id: string;
  score: number;
}

export interface TopicsOptions extends Signalled {
  limit?: number;
}

export interface Topic {
  id: number;
  label: string;
  weight: number;
  items: string[];
}

export interface ContextOptions extends Signalled {
  maxTokens?: number;
}

export interface Context {
  /** A delimited block to put in a prompt (any LLM's). */
  text: string;
  tokens: number;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ReplyOptions extends Signalled {
  maxTokens?: number;
  temperature?: number;
  topK?: number;
  topP?: number;
  repetitionPenalty?: number;
  seed?: number;
  stop?: string[];
}

export interface ReplyStats {
  finishReason: 'stop' | 'length' | 'eos' | 'cancelled' | null;
  promptTokens: number;
  generatedTokens: number;
  droppedMessages: number;
}

/** Text pieces as they are generated; `return()` (or `break`, or the signal) cancels. */
export interface ReplyStream extends AsyncIterableIterator<string> {
  stats(): ReplyStats;
}

export interface AttuneAssistant {
  context(query: string, options?: ContextOptions): Promise<Context>;
  reply(messages: ChatMessage[], options?: ReplyOptions): ReplyStream;
}

export interface AttuneInstance {
  track(event: TrackEvent): Promise<void>;
  /** Adds an explicit fact ("I am vegetarian"); resolves to its id. */
  remember(text: string): Promise<string>;
  forget(what: ForgetWhat): Promise<ForgetReport>;
  profile(): Promise<Profile>;
  topics(options?: TopicsOptions): Promise<Topic[]>;
  /** The profile as a versioned JSON document (docs/profile-format.md). */
  export(): Promise<string>;
  /** Replaces the profile by an export (text or parsed), all or nothing. */
  import(data: string | object): Promise<void>;
  /** Removes everything of the namespace. */
  clear(): Promise<void>;
  /** Unit-length embeddings, in order (at most 1024 texts a call). */
  embed(texts: string[], options?: Signalled): Promise<Float32Array[]>;
  rank(items: Item[], options?: RankOptions): Promise<Ranked[]>;
  similar(query: string | Item, items: Item[], options?: SimilarOptions): Promise<Similar[]>;
  info(): Promise<Info>;
  readonly assistant: AttuneAssistant;
  /** Stops the worker; later and pending calls reject with `closed` (a store write already
   * running finishes or aborts as a whole). Stored data stays. */
  close(): void;
  readonly closed: boolean;
}

export declare const Attune: {
  open(options: OpenOptions): Promise<AttuneInstance>;
  AttuneError: typeof AttuneError;
};

export default Attune;
