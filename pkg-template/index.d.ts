// Types of the Attune SDK. They describe the runtime in index.js / attune.js exactly; the
// TypeScript example (examples/vite-app/src/api-tour.ts) calls every method under `tsc --noEmit`.

/** Stable error codes. The glue raises the first group; the Rust core the second. */
export type AttuneErrorCode =
  | 'invalid_argument' | 'model_load' | 'device' | 'storage' | 'quota_exceeded' | 'aborted' | 'closed'
  | 'unsupported' | 'busy' | 'internal'
  | 'model_format' | 'model_unsupported' | 'tokenizer' | 'chat_template' | 'input_too_large' | 'compute'
  | 'io' | 'storage_unavailable' | 'version_too_new' | 'corrupt_record' | 'invalid_import'
  /** `Attune.connect`: the person said no to this site (or revoked it) in the Attune extension. */
  | 'denied';

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
  /** Where the chat model runs (default: `OpenOptions.device`). */
  device?: Device;
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
  /** The sentence embedder. Default: all-MiniLM-L6-v2 Q8_0 from the `attune-models` package
   * (npm; beside the package's folder for the script tag), checked against the sha256 this
   * package pins (`models.json`). */
  embedder?: ModelSource;
  /** The chat model; downloaded on the first `assistant.reply`. Default: SmolLM2-135M-Instruct
   * Q4_1 from `attune-models`, pinned as the embedder is; `{ context, device }` without `url`
   * keeps the default file; `false`: none (a reply fails with `invalid_argument`). */
  assistant?: AssistantSource | Omit<AssistantSource, 'url'> | false;
  device?: Device;
  onProgress?: (event: ProgressEvent) => void;
  /**
   * Run in a dedicated module worker (default true); false runs in the calling context. Where
   * the page enforces Trusted Types, the worker starts through the policy `attune` (list it in
   * CSP `trusted-types`); a CSP that refuses the policy or the worker's script (`worker-src`)
   * fails `open` with `unsupported`, its message naming what to allow.
   */
  worker?: boolean;
  /** Keep downloaded models in the Cache API / IndexedDB (default true). */
  cache?: boolean;
  /** Where the .wasm is, if not beside the package's files (a single-thread module: no threads). */
  wasmUrl?: string | URL;
  /**
   * CPU threads for the embedder's matrix products: `auto` (default) uses up to four of the
   * machine's cores, or an integer 1-16. More than one needs a cross-origin-isolated page
   * (COOP `same-origin` + COEP `require-corp` or `credentialless`) and worker mode: the
   * threaded core module (`attune_wasm_mt_bg.wasm`) then loads instead of the single-thread
   * one, with one thread worker (`thread.js`) per thread. Elsewhere one thread runs, and
   * `info().threads.why` says why. Results are bit-identical whatever the count.
   */
  threads?: 'auto' | number;
  /** The embedding cache of this namespace (IndexedDB, one entry per item text): least
   * recently used entries go past `maxBytes` (default 8 MiB, about 20 000 MiniLM entries;
   * 64 KiB … 1 GiB). */
  embeddingCache?: { maxBytes?: number };
  /** Where the profile lives: `auto` (default) IndexedDB, else (a private mode that refuses
   * it) memory for this page, said in `info().storage`; `indexeddb` fails `open` with
   * `storage_unavailable` instead; `memory` never persists. */
  storage?: 'auto' | 'indexeddb' | 'memory';
  /** Replacements for the reasons' texts in every `rank` of this instance (see `ReasonTexts`). */
  reasonTexts?: ReasonTexts;
}

export type EventType =
  | 'view' | 'click' | 'dwell' | 'like' | 'share' | 'purchase' | 'dislike' | 'dismiss' | 'hide' | 'search';

export interface Item {
  id: string;
  /** What gets embedded. Without it, the text is built from `title` (else `name`) and
   * `summary` (else `description`), trimmed and joined by ". "; an item with none of these
   * (and no `addVectors` vector) is ranked by tags and prior only (`noText`, `info().ranking`). */
  text?: string;
  title?: string;
  name?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  url?: string;
  /** Other fields of the page's own item objects are allowed and ignored. */
  [extra: string]: unknown;
}

export interface TrackEvent {
  type: EventType;
  item: Item;
  /**
   * Multiplies the type's weight: 0 … 100 (default 1). A negative, NaN or infinite weight is
   * `invalid_argument`: a dislike is its own `type`, not a like with weight -1.
   */
  weight?: number;
  /** For `dwell`: seconds spent. */
  seconds?: number;
  /** For `search`: the query (required). */
  query?: string;
  /**
   * When it happened: whole milliseconds since the epoch, as `Date.now()` gives (default now).
   * `invalid_argument` if it is not a whole number, before 2000-01-01 (seconds by mistake), or
   * more than 5 minutes after the device's clock (microseconds by mistake): such a time would
   * decay or push out everything else in the profile.
   */
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

export interface DeviceInfo { asked: Device; used: string; adapter: string | null; why: string }

export interface Info {
  namespace: string;
  backend: string;
  devices: string[];
  /** What runs the embedder: `used` is "webgpu" or "cpu"; `why` the fallback reason when `auto`
   * (or a lost GPU) ended on the CPU. */
  device: DeviceInfo;
  embedder: { id: string; name: string; dim: number; bytes: number };
  /** The chat model, once loaded: `device` as above, for the assistant (`assistant.device`). */
  assistant:
    | { loaded: true; name: string; context: number; backend: string; device: DeviceInfo }
    | { loaded: false; configured: boolean };
  /** The core's WebAssembly memory in bytes (it grows to the peak use and stays there). */
  memory: { wasmBytes: number };
  /** The CPU threads the embedder runs on (`OpenOptions.threads`): `used` is 1 where the page
   * is not cross-origin isolated, in `{ worker: false }`, or if the thread workers did not
   * start, and `why` says which. */
  threads: { asked: 'auto' | number; used: number; why: string };
  storage: {
    /** `indexeddb`, or `memory` (nothing persists past the page) with `why`. */
    backend: 'indexeddb' | 'memory';
    persistent: boolean;
    why?: string;
    profileBytes: number;
    /** Entries of the embedding cache, their bytes, and its budget (`embeddingCache.maxBytes`). */
    cacheEntries: number;
    cacheBytes: number;
    cacheBudgetBytes: number;
    /** Item ids with vectors from `addVectors` (kept in memory for this instance). */
    precomputedVectors: number;
    /** Bytes of the profile record this SDK could not read (`exportCorrupt`), 0 if none. */
    corruptBytes: number;
    originUsage?: number;
    originQuota?: number;
    /** The model files kept for later visits (this origin's, every instance's): their bytes,
     * their number, and the store new ones go to (`cache-api`; `indexeddb` where the Cache API
     * is missing; `none`). */
    modelBytes: number;
    modelFiles: number;
    modelStore: 'cache-api' | 'indexeddb' | 'none';
  };
  /** The last `rank` call: its items, those without any text (see `Ranked.noText`), and a
   * warning naming the first of them. */
  ranking: { items: number; itemsWithoutText: number; warning?: string };
}

export interface Signalled {
  signal?: AbortSignal;
}

export interface RankOptions extends Signalled {
  /** Return at most this many items (all by default). */
  limit?: number;
  /** 0 (pure relevance) … 1 (most varied): maximal marginal relevance. */
  diversity?: number;
  /** Share of slots given to items outside the known interests, 0 … 1 (alias `exploration`);
   * default 0 (off). Never the first 3 slots. */
  explore?: number;
  exploration?: number;
  /** Seed of the exploration draw: the same seed and input give the same ranking. */
  seed?: number;
  /** Also leave out items the user already interacted with (hidden/dismissed ones always are). */
  excludeSeen?: boolean;
  /** Weight of the item's `prior` (0 … 1, e.g. popularity) in the score. */
  priorWeight?: number;
  tagWeight?: number;
  neighborWeight?: number;
  /** An item is an exploration candidate when its similarity to every interest is below this. */
  noveltyBelow?: number;
  /** Rank now with the embeddings at hand: items whose text is not cached yet are ranked by
   * tags and prior only and come back `pending: true` (rank again later). Default false: new
   * texts are embedded first, in batches. */
  cachedOnly?: boolean;
  /** Told after each batch of new texts embedded (a first `rank` of a large catalog). */
  onProgress?: (progress: { done: number; total: number }) => void;
  /** Replacements for the reasons' texts (over those given to `open`). */
  reasonTexts?: ReasonTexts;
}

export type ReasonKind = 'seen' | 'similarTo' | 'tag' | 'interest' | 'new' | 'popular' | 'pageOrder';

/** The event kinds a reason's verb comes from ("read", "clicked", "liked", "bought"…). */
export type ReasonEvent = 'view' | 'click' | 'dwell' | 'like' | 'share' | 'purchase' | 'search';

/**
 * The one table of reason texts, by key: `seen.<event>` ("you liked this"),
 * `similarTo.<event>` ("similar to “{title}”, which you liked"; `{title}` is the cited item's
 * first sentence), `tag` ("you often pick “{tag}”"), `interest`, `new`, `popular`, `pageOrder`.
 * Any subset may be replaced (to translate them); an unknown key, or a placeholder other than
 * the key's own, is `invalid_argument`.
 */
export type ReasonTexts = { [key: string]: string };

/** Why an item ranks where it does, in words a person understands, and what it refers to.
 * At most two per item, strongest first; none when nothing strong enough is true. */
export interface Reason {
  kind: ReasonKind;
  text: string;
  /** `similarTo`: the cited item (never the ranked item itself nor a near-duplicate). */
  itemId?: string;
  tag?: string;
  /** `seen` and `similarTo`: the strongest event the user gave that item. */
  event?: ReasonEvent;
}

export interface Ranked {
  id: string;
  /** Position of the item in the input. */
  index: number;
  score: number;
  /** Placed by exploration ("something new"). */
  explored: boolean;
  /** Ranked without its text's embedding (`cachedOnly`, not cached yet). */
  pending?: boolean;
  /** The item had no `text`, `title`, `name`, `summary` or `description` and no precomputed
   * vector: ranked by tags and prior only. */
  noText?: boolean;
  reasons: Reason[];
}

export interface SimilarOptions extends Signalled {
  limit?: number;
}

export interface Similar {
  id: string;
  index: number;
  /** Cosine similarity, −1 … 1. */
  similarity: number;
}

export interface TopicsOptions extends Signalled {
  limit?: number;
  /** A label names an interest only if their similarity is at least this. */
  minSimilarity?: number;
}

/** A label of the shipped taxonomy (src/personalize/taxonomy.tsv). */
export interface Topic {
  label: string;
  parent: string;
  /** Share of the profile's interest weight under this label, 0 … 1. */
  weight: number;
  similarity: number;
}

export interface ContextOptions extends Signalled {
  /** Token budget of the whole block (default 256). Counted by the chat model's tokenizer once
   * it is loaded, else as UTF-8 bytes (which no byte-level BPE tokenizer exceeds). */
  maxTokens?: number;
  maxMemories?: number;
  maxTopics?: number;
  maxTags?: number;
  maxItems?: number;
  /** Characters kept of each quoted text. */
  maxChars?: number;
  minSimilarity?: number;
  /** Name the interests with taxonomy labels (default true). */
  topics?: boolean;
}

export interface Context {
  /** A delimited block to put in a prompt (any LLM's); item and memory text inside is quoted data. */
  text: string;
  tokens: number;
  memories: number;
  topics: number;
  tags: number;
  items: number;
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
  /**
   * DRY penalty on repeats of the reply's own tokens (default 0.8; 0 = plain greedy): a token that
   * would continue a repeated sequence of dryAllowedLength (2) or more tokens loses
   * dryMultiplier * dryBase^(length - dryAllowedLength) from its logit.
   */
  dryMultiplier?: number;
  /** Growth of the DRY penalty per repeated token (default 1.75, 1..=8). */
  dryBase?: number;
  /** Repeats this long are free (default 2, at most 32). */
  dryAllowedLength?: number;
  /**
   * The same penalty on a reply that copies its context block: copies of this many tokens or more
   * are penalized (default 6, at most 32; 0 = off). A fact may be restated, the block not recited.
   */
  echoAllowedLength?: number;
  seed?: number;
  stop?: string[];
  /** Put the profile's context for the last user message in the system prompt (default true). */
  useContext?: boolean;
  contextOptions?: Omit<ContextOptions, 'signal'>;
  /** A context block of your own instead (e.g. from `assistant.context`). */
  context?: string;
}

export interface ReplyStats {
  finishReason: 'eos' | 'stop' | 'length' | 'cancelled' | null;
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

/** Calls run one at a time per instance; at most 1 000 may wait (more fail at once with `busy`).
 * A call whose arguments would take over 4 MiB as JSON (an import: its text) fails at once with
 * `input_too_large`, before anything is copied or sent to the worker. */
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
  /** Removes everything of the namespace; a profile record that cannot be read
   * (`corrupt_record`, `version_too_new`) is set aside instead, in the same transaction, so a
   * fresh profile works after it and the unread one stays for `exportCorrupt`. */
  clear(): Promise<void>;
  /** The stored profile record this SDK could not read, as stored (for the page to offer as a
   * download or send for support): the current one, else the copy `clear` set aside; `null` if
   * none. */
  exportCorrupt(): Promise<string | null>;
  /** Deletes the copy `clear` set aside; resolves to whether there was one. */
  discardCorrupt(): Promise<boolean>;
  /** Unit-length embeddings, in order (at most 1024 texts a call). */
  embed(texts: string[], options?: Signalled): Promise<Float32Array[]>;
  /** Ranks up to 20 000 items; texts not seen before are embedded (in batches of 32) and
   * cached. Aborting (`signal`) between batches rejects with `aborted`; what was embedded
   * stays cached. */
  rank(items: Item[], options?: RankOptions): Promise<Ranked[]>;
  /** Loads precomputed vectors (a file made by `attune catalog` with this embedder): those
   * item ids are ranked by them, never embedded. Resolves to the number of ids in the file;
   * a file of another model fails with `model_unsupported`. */
  addVectors(source: string | URL | ArrayBuffer | Uint8Array, options?: Signalled): Promise<number>;
  similar(query: string | Item, items: Item[], options?: SimilarOptions): Promise<Similar[]>;
  info(): Promise<Info>;
  readonly assistant: AttuneAssistant;
  /** Stops the worker; later and pending calls reject with `closed` (a store write already
   * running finishes or aborts as a whole). Stored data stays. */
  close(): void;
  readonly closed: boolean;
}

/** `Attune.connect` options: those of `open` (for the page's own profile, the fallback) and how
 * to look for the extension. */
export interface ConnectOptions extends Partial<OpenOptions> {
  /** `false`: never ask the extension. `timeoutMs`: how long the handshake waits (default 500). */
  extension?: false | { timeoutMs?: number };
}

/** Answers from the Attune extension's profile, for this page's own items only. */
export interface ExtensionInstance {
  readonly source: 'extension';
  /** The origin the extension answers for (the browser's, not one the page claims). */
  readonly origin: string;
  /** `allow`: the person allowed this site; `once`: for this page only. */
  readonly consent: 'allow' | 'once';
  readonly why: null;
  /** At most 1 000 items; ids, scores and reasons that name only items of this call. After the
   * person revokes the site, calls fail with `denied`. */
  rank(items: Item[], options?: Omit<RankOptions, 'cachedOnly' | 'reasonTexts' | 'excludeSeen' | 'onProgress'>): Promise<Ranked[]>;
  similar(query: string | Item, items: Item[], options?: SimilarOptions): Promise<Similar[]>;
  /** The person's top interests as taxonomy labels (at most 10; weights to 2 decimals). */
  topics(options?: TopicsOptions): Promise<Pick<Topic, 'label' | 'parent' | 'weight'>[]>;
  close(): void;
  readonly closed: boolean;
}

/** The page's own profile, as `open` gives it, when the extension did not answer. */
export type LocalInstance = AttuneInstance & {
  readonly source: 'local';
  readonly origin: string;
  /** `absent` (no extension here), `denied` (the person said no), `disabled`
   * (`extension: false`), or `failed: …`. */
  readonly why: string;
};

export declare const Attune: {
  open(options: OpenOptions): Promise<AttuneInstance>;
  /** The Attune extension's profile for this site with the person's consent (asked on the
   * first request from this origin), else `open(options)`: `source` says which answered. */
  connect(options?: ConnectOptions): Promise<ExtensionInstance | LocalInstance>;
  AttuneError: typeof AttuneError;
};

export default Attune;
