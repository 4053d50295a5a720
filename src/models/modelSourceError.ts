/**
 * The error that loading a user's ONNX export raises. One class with a `code` for each failure mode
 * keeps the catch sites simple. The code is also in `details`, because `details` is the part of an
 * error that crosses the worker boundary (see src/worker/errorTransport.ts).
 */

/** Failure modes of loading a model from a file, a URL, the hub or the app's manifest. */
export type ModelSourceErrorCode =
  /** The server returned 404 for the model, an external data file or the manifest. */
  | 'not-found'
  /** The server returned another error status, such as 401 for a private or gated repository. */
  | 'http'
  /** A cross-origin request failed without a response, which is how a browser reports a CORS refusal. */
  | 'cors'
  /** A request failed without a response, and CORS is not the likely cause. */
  | 'network'
  /** The bytes are not an ONNX model: empty, undecodable, a Git LFS pointer, or a model without a graph. */
  | 'not-onnx'
  /** The server returned a web page instead of the file. */
  | 'html'
  /** The file ends early: fewer bytes than Content-Length, or a protobuf that stops mid-field. */
  | 'truncated'
  /** The model and its external data exceed the caller's `maxBytes`. */
  | 'too-large'
  /** The model references an external data file that is not available. */
  | 'missing-external-data'
  /** An external data location is not a relative path inside the model's folder. */
  | 'invalid-external-data'
  /** A hub id that is not of the form owner/name. */
  | 'invalid-id'
  /** A request that cannot be served as given: an unknown variant, no .onnx among the files, and so on. */
  | 'invalid-request'
  /** A config.json that is not a JSON object. */
  | 'invalid-config'
  /** A manifest.json that does not match the manifest schema. */
  | 'invalid-manifest'
  /** A graph input that the profiler cannot fill with token ids, a mask or token types. */
  | 'unsupported-input'
  /** No graph output is a [batch, sequence, hidden] float tensor. */
  | 'unsupported-output';

/** Context of a ModelSourceError. Every field except `code` is optional because each mode uses a few. */
export interface ModelSourceErrorDetails {
  code: ModelSourceErrorCode;
  /** Address that was requested. */
  url?: string;
  /** Name of a file that the user selected, or a path inside a model repository. */
  fileName?: string;
  /** HTTP status of a failed response. */
  status?: number;
  hubId?: string;
  /** External data files, inputs or fields that are missing or invalid. */
  names?: string[];
  /** Size of the file or model in bytes, where known. */
  actualBytes?: number;
  /** The caller's byte limit. */
  limitBytes?: number;
}

/** Loading or checking a user's ONNX model failed. `code` names the failure mode, and the message gives the next step. */
export class ModelSourceError extends Error {
  override readonly name = 'ModelSourceError';
  readonly code: ModelSourceErrorCode;
  readonly details: ModelSourceErrorDetails;

  constructor(code: ModelSourceErrorCode, message: string, details: Omit<ModelSourceErrorDetails, 'code'> = {}, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.details = { code, ...details };
  }
}

/** Returns whether `error` is a ModelSourceError, also after it crossed a worker boundary as name and details. */
export function isModelSourceError(error: unknown): error is Error & { details: ModelSourceErrorDetails } {
  if (error instanceof ModelSourceError) return true;
  if (!(error instanceof Error) || error.name !== 'ModelSourceError') return false;
  const details = (error as Error & { details?: unknown }).details;
  return typeof details === 'object' && details !== null && 'code' in details;
}

/**
 * The parts of a Hugging Face config.json that the profiler reads. The names are those of the
 * transformers configuration classes (EsmConfig, BertConfig). Other keys are kept as they are.
 */
export interface ModelConfigJson {
  model_type?: unknown;
  num_hidden_layers?: unknown;
  hidden_size?: unknown;
  num_attention_heads?: unknown;
  intermediate_size?: unknown;
  vocab_size?: unknown;
  [key: string]: unknown;
}
