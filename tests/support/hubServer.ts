/**
 * A local stand-in for the Hugging Face hub, for tests of the model loader. It serves repositories in
 * the transformers.js layout at `/{owner}/{name}/resolve/main/{path}`, built with the project's own
 * graph builder, plus models that the loader must reject. Path prefixes select a faulty delivery of
 * the same files (see DELIVERY_PREFIXES), and every request is counted by path.
 *
 * It listens on 127.0.0.1 on an ephemeral port. Normal routes send `Access-Control-Allow-Origin: *`
 * and `Cross-Origin-Resource-Policy: cross-origin`, so a cross-origin isolated page (COEP
 * require-corp) on another port can read them. The `/no-cors` prefix leaves both out.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import onnxProto from 'onnx-proto';
import { buildModel } from '../../src/models/build';
import { getModelConfig } from '../../src/models/catalog';

// onnx-proto is a CommonJS module, and src/models/onnxBuilder.ts explains why the default import is used.
const { onnx } = onnxProto;

/** Repository ids that the server holds. */
export const HUB_REPOS = Object.freeze({
  /** esm2_tiny: config.json, onnx/model.onnx (float32) and onnx/model_fp16.onnx (float16), no quantized variant. */
  esm2: 'test/esm2_tiny',
  /** dnabert_tiny with a DNABERT-2 style config.json (model_type bert, alibi_starting_size). */
  dnabert: 'test/dnabert_tiny',
  /** esm2_tiny with every weight in onnx/model.onnx_data. */
  external: 'test/esm2_tiny_external',
  /** The .onnx file of `external`, without its external data file. */
  missingExternal: 'test/missing_external',
  /** esm2_tiny without config.json. */
  noConfig: 'test/esm2_no_config',
  /** Inputs input_ids and a float32 pixel_values, which the profiler cannot fill. */
  pixelValues: 'test/pixel_values',
  /** Inputs fixed to batch 1 and 16 tokens. */
  fixedBatch: 'test/fixed_batch',
  /** int32 inputs in the order attention_mask, token_type_ids, input_ids, and a 2-D output before the 3-D one. */
  int32Reordered: 'test/int32_reordered',
  /** A config.json of ESM-2 and a graph with the operator Frobnicate, which onnxruntime does not know. */
  unsupportedOp: 'test/unsupported_op',
  /**
   * esm2_tiny's graph under a config.json of a much larger model (hidden 8192, feed-forward 65536), whose
   * 2 GiB feed-forward weight exceeds the maxBufferSize of most devices.
   */
  oversized: 'test/oversized_config',
  /** onnx/model.onnx is bytes that are not a protobuf model. */
  notOnnx: 'test/not_onnx',
  /** config.json is not JSON. */
  badConfig: 'test/bad_config',
});

/**
 * Prefixes that change how the files under them are delivered. `{baseUrl}{prefix}` works as a hub base
 * URL, so `{baseUrl}/chunked/test/esm2_tiny/resolve/main/onnx/model.onnx` is the chunked delivery of
 * that file.
 */
export const DELIVERY_PREFIXES = Object.freeze({
  /** No Content-Length: chunked transfer encoding. */
  chunked: '/chunked',
  /** Content-Encoding gzip, with the Content-Length of the compressed body. */
  gzip: '/gzip',
  /** No CORS or CORP headers, for browser tests of a cross-origin refusal. */
  noCors: '/no-cors',
  /** Content-Length of the whole file, then half the body, then the connection closes. */
  cutBody: '/cut-body',
  /** No Content-Length, then half the body, then the connection closes without the final chunk. */
  cutChunked: '/cut-chunked',
  /** Half the body, with a Content-Length that matches that half. */
  shortBody: '/short-body',
  /** Status 200 with an HTML page (content-type text/html) for every path. */
  html: '/html',
  /** The same HTML page, sent as application/octet-stream. */
  htmlBytes: '/html-bytes',
  /** A Git LFS pointer instead of every file. */
  lfsPointer: '/lfs-pointer',
  /** Status 401, which the hub returns for a private, gated or missing repository. */
  gated: '/gated',
});

/** Bytes per write, so that a client receives a file in several chunks. */
const WRITE_CHUNK_BYTES = 16 * 1024;

const ESM2_TINY = getModelConfig('esm2_tiny');
const DNABERT_TINY = getModelConfig('dnabert_tiny');

/** config.json of esm2_tiny with the field names of transformers' EsmConfig, as in facebook/esm2_t6_8M_UR50D. */
const ESM2_TINY_CONFIG = {
  architectures: ['EsmForMaskedLM'],
  attention_probs_dropout_prob: 0.0,
  emb_layer_norm_before: false,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.0,
  hidden_size: ESM2_TINY.hidden,
  initializer_range: 0.02,
  intermediate_size: ESM2_TINY.ffn,
  layer_norm_eps: 1e-5,
  mask_token_id: 32,
  max_position_embeddings: 1026,
  model_type: 'esm',
  num_attention_heads: ESM2_TINY.heads,
  num_hidden_layers: ESM2_TINY.layers,
  pad_token_id: 1,
  position_embedding_type: 'rotary',
  token_dropout: true,
  torch_dtype: 'float32',
  vocab_size: ESM2_TINY.vocabSize,
};

/** config.json of dnabert_tiny with BertConfig field names and MosaicBERT's alibi_starting_size. */
const DNABERT_TINY_CONFIG = {
  alibi_starting_size: 512,
  architectures: ['BertForMaskedLM'],
  attention_probs_dropout_prob: 0.0,
  hidden_act: 'gelu',
  hidden_dropout_prob: 0.1,
  hidden_size: DNABERT_TINY.hidden,
  intermediate_size: DNABERT_TINY.ffn,
  layer_norm_eps: 1e-12,
  max_position_embeddings: 512,
  model_type: 'bert',
  num_attention_heads: DNABERT_TINY.heads,
  num_hidden_layers: DNABERT_TINY.layers,
  type_vocab_size: 2,
  vocab_size: DNABERT_TINY.vocabSize,
};

const HTML_PAGE = '<!DOCTYPE html>\n<html class="">\n<head><title>onnx/model.onnx · test/esm2_tiny at main</title></head>\n<body>Sign in to view this file.</body>\n</html>\n';
const LFS_POINTER = 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 31414128\n';

export interface HubServer {
  /** Such as 'http://127.0.0.1:41234', without a trailing slash. Also the hub base URL. */
  baseUrl: string;
  /** Number of requests for `path` (pathname with prefix, without the origin) since start or the last reset. */
  requestCount(path: string): number;
  /** Number of requests of any path since start or the last reset. */
  totalRequests(): number;
  resetCounts(): void;
  /** Returns the bytes that the server holds for a repository file, or undefined. */
  repoFile(hubId: string, path: string): Uint8Array | undefined;
  close(): Promise<void>;
}

/** Builds every repository and starts the server. */
export async function startHubServer(): Promise<HubServer> {
  const repos = buildRepositories();
  const counts = new Map<string, number>();

  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname);
    counts.set(path, (counts.get(path) ?? 0) + 1);
    // One connection per request. With keep-alive, a client that reuses a socket just as the server's
    // idle timeout (5 s) closes it gets ECONNRESET, and slow tests hit that race.
    response.setHeader('connection', 'close');
    handle(repos, path, request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl,
    requestCount: (path) => counts.get(path) ?? 0,
    totalRequests: () => [...counts.values()].reduce((total, count) => total + count, 0),
    resetCounts: () => counts.clear(),
    repoFile: (hubId, path) => repos.get(hubId)?.get(path),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

type Repository = Map<string, Uint8Array>;

function buildRepositories(): Map<string, Repository> {
  const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value, null, 2));
  const esm2 = buildModel(ESM2_TINY);
  const esm2Fp16 = buildModel(ESM2_TINY, { dtype: 'float16' });
  const dnabert = buildModel(DNABERT_TINY);
  const external = buildExternalDataModel();

  return new Map<string, Repository>([
    [
      HUB_REPOS.esm2,
      new Map([
        ['config.json', json(ESM2_TINY_CONFIG)],
        ['onnx/model.onnx', esm2.modelBytes],
        ['onnx/model_fp16.onnx', esm2Fp16.modelBytes],
      ]),
    ],
    [
      HUB_REPOS.dnabert,
      new Map([
        ['config.json', json(DNABERT_TINY_CONFIG)],
        ['onnx/model.onnx', dnabert.modelBytes],
      ]),
    ],
    [
      HUB_REPOS.external,
      new Map([
        ['config.json', json(ESM2_TINY_CONFIG)],
        ['onnx/model.onnx', external.modelBytes],
        ['onnx/model.onnx_data', external.data],
      ]),
    ],
    [HUB_REPOS.missingExternal, new Map([['onnx/model.onnx', external.modelBytes]])],
    [HUB_REPOS.noConfig, new Map([['onnx/model.onnx', esm2.modelBytes]])],
    [HUB_REPOS.pixelValues, new Map([['onnx/model.onnx', buildPixelValuesModel()]])],
    [HUB_REPOS.oversized, new Map([['config.json', json({ ...ESM2_TINY_CONFIG, hidden_size: 8192, intermediate_size: 65536 })], ['onnx/model.onnx', esm2.modelBytes]])],
    [HUB_REPOS.unsupportedOp, new Map([['config.json', json(ESM2_TINY_CONFIG)], ['onnx/model.onnx', buildUnsupportedOpModel()]])],
    [HUB_REPOS.fixedBatch, new Map([['onnx/model.onnx', buildFixedBatchModel()]])],
    [HUB_REPOS.int32Reordered, new Map([['onnx/model.onnx', buildInt32ReorderedModel()]])],
    [HUB_REPOS.notOnnx, new Map([['onnx/model.onnx', notOnnxBytes()]])],
    [
      HUB_REPOS.badConfig,
      new Map([
        ['config.json', new TextEncoder().encode('{"model_type": "esm",')],
        ['onnx/model.onnx', esm2.modelBytes],
      ]),
    ],
  ]);
}

/**
 * Builds esm2_tiny with all weights external and renames the file to `model.onnx_data`, the name that
 * exports in the transformers.js layout use. The builder names it `<id>.weights.bin`.
 */
export function buildExternalDataModel(): { modelBytes: Uint8Array; data: Uint8Array } {
  const built = buildModel(ESM2_TINY, { externalDataThresholdBytes: 0 });
  const model = onnx.ModelProto.decode(built.modelBytes);
  for (const tensor of model.graph?.initializer ?? []) {
    for (const entry of tensor.externalData ?? []) {
      if (entry.key === 'location') entry.value = 'model.onnx_data';
    }
  }
  return { modelBytes: onnx.ModelProto.encode(model).finish(), data: built.externalData[0].data };
}

// ---------------------------------------------------------------------------------------------------
// Small graphs written directly with onnx-proto, for input shapes and types that the builder lacks

const { FLOAT, INT32, INT64 } = onnx.TensorProto.DataType;
const TINY_VOCAB = 8;
const TINY_HIDDEN = 4;

type Dim = number | string;

function valueInfo(name: string, elemType: number, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((dim) => (typeof dim === 'string' ? { dimParam: dim } : { dimValue: dim })) } } },
  };
}

function floatTensor(name: string, dims: number[]): onnxProto.onnx.ITensorProto {
  const count = dims.reduce((total, dim) => total * dim, 1);
  const values = Float32Array.from({ length: count }, (_, index) => ((index * 37) % 17) / 17 - 0.5);
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(values.buffer) };
}

function node(opType: string, input: string[], output: string[], attribute: onnxProto.onnx.IAttributeProto[] = []): onnxProto.onnx.INodeProto {
  return { name: output[0], opType, input, output, attribute };
}

function intAttribute(name: string, value: number): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}

function intsAttribute(name: string, values: number[]): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}

function encodeModel(graph: onnxProto.onnx.IGraphProto): Uint8Array {
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'hub-server-test',
    opsetImport: [{ domain: '', version: 17 }],
    graph,
  }).finish();
}

/** last_hidden_state = embedding(input_ids) + mean(pixel_values), broadcast over each row. */
export function buildPixelValuesModel(): Uint8Array {
  return encodeModel({
    name: 'pixel_values',
    input: [valueInfo('input_ids', INT64, ['batch', 'sequence']), valueInfo('pixel_values', FLOAT, ['batch', 3, 8, 8])],
    output: [valueInfo('last_hidden_state', FLOAT, ['batch', 'sequence', TINY_HIDDEN])],
    initializer: [floatTensor('embedding', [TINY_VOCAB, TINY_HIDDEN]), int64Tensor('squeeze_axes', [1])],
    node: [
      node('Gather', ['embedding', 'input_ids'], ['embedded'], [intAttribute('axis', 0)]),
      // [batch, 3, 8, 8] → [batch, 1, 1, 1] → [batch, 1, 1], which broadcasts over [batch, sequence, hidden].
      node('ReduceMean', ['pixel_values'], ['pixel_mean'], [intsAttribute('axes', [1, 2, 3]), intAttribute('keepdims', 1)]),
      node('Squeeze', ['pixel_mean', 'squeeze_axes'], ['pixel_mean_3d']),
      node('Add', ['embedded', 'pixel_mean_3d'], ['last_hidden_state']),
    ],
  });
}

/** last_hidden_state = Frobnicate(embedding(input_ids)): a graph that is valid ONNX but names an operator no runtime has. */
export function buildUnsupportedOpModel(): Uint8Array {
  return encodeModel({
    name: 'unsupported_op',
    input: [valueInfo('input_ids', INT64, ['batch', 'sequence']), valueInfo('attention_mask', INT64, ['batch', 'sequence'])],
    output: [valueInfo('last_hidden_state', FLOAT, ['batch', 'sequence', TINY_HIDDEN])],
    initializer: [floatTensor('embedding', [TINY_VOCAB, TINY_HIDDEN])],
    node: [node('Gather', ['embedding', 'input_ids'], ['embedded'], [intAttribute('axis', 0)]), node('Frobnicate', ['embedded'], ['last_hidden_state'])],
  });
}

/** last_hidden_state = embedding(input_ids) · attention_mask, with both inputs fixed to [1, 16]. */
export function buildFixedBatchModel(): Uint8Array {
  return encodeModel({
    name: 'fixed_batch',
    input: [valueInfo('input_ids', INT64, [1, 16]), valueInfo('attention_mask', INT64, [1, 16])],
    output: [valueInfo('last_hidden_state', FLOAT, [1, 16, TINY_HIDDEN])],
    initializer: [floatTensor('embedding', [TINY_VOCAB, TINY_HIDDEN]), int64Tensor('unsqueeze_axes', [2])],
    node: [
      node('Gather', ['embedding', 'input_ids'], ['embedded'], [intAttribute('axis', 0)]),
      node('Cast', ['attention_mask'], ['mask_float'], [intAttribute('to', FLOAT)]),
      node('Unsqueeze', ['mask_float', 'unsqueeze_axes'], ['mask_3d']),
      node('Mul', ['embedded', 'mask_3d'], ['last_hidden_state']),
    ],
  });
}

/**
 * int32 inputs in the order attention_mask, token_type_ids, input_ids. Outputs `pooler_output`
 * [batch, hidden] first, then `embeddings` [batch, sequence, hidden] = (word + type embedding) · mask.
 */
export function buildInt32ReorderedModel(): Uint8Array {
  const dims = ['batch_size', 'sequence_length'];
  return encodeModel({
    name: 'int32_reordered',
    input: [valueInfo('attention_mask', INT32, dims), valueInfo('token_type_ids', INT32, dims), valueInfo('input_ids', INT32, dims)],
    output: [
      valueInfo('pooler_output', FLOAT, ['batch_size', TINY_HIDDEN]),
      valueInfo('embeddings', FLOAT, ['batch_size', 'sequence_length', TINY_HIDDEN]),
    ],
    initializer: [floatTensor('word_embeddings', [TINY_VOCAB, TINY_HIDDEN]), floatTensor('token_type_embeddings', [2, TINY_HIDDEN]), int64Tensor('unsqueeze_axes', [2])],
    node: [
      node('Gather', ['word_embeddings', 'input_ids'], ['words'], [intAttribute('axis', 0)]),
      node('Gather', ['token_type_embeddings', 'token_type_ids'], ['types'], [intAttribute('axis', 0)]),
      node('Add', ['words', 'types'], ['summed']),
      node('Cast', ['attention_mask'], ['mask_float'], [intAttribute('to', FLOAT)]),
      node('Unsqueeze', ['mask_float', 'unsqueeze_axes'], ['mask_3d']),
      node('Mul', ['summed', 'mask_3d'], ['embeddings']),
      node('ReduceMean', ['embeddings'], ['pooler_output'], [intsAttribute('axes', [1]), intAttribute('keepdims', 0)]),
    ],
  });
}

function int64Tensor(name: string, values: number[]): onnxProto.onnx.ITensorProto {
  return { name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(BigInt64Array.from(values, BigInt).buffer) };
}

/** Deterministic bytes that start with a protobuf tag other than ir_version, so they decode as garbage. */
function notOnnxBytes(): Uint8Array {
  return Uint8Array.from({ length: 4096 }, (_, index) => (index * 7919 + 13) % 251);
}

// ---------------------------------------------------------------------------------------------------
// Routing

function handle(repos: Map<string, Repository>, path: string, request: IncomingMessage, response: ServerResponse): void {
  const prefix = Object.values(DELIVERY_PREFIXES).find((candidate) => path.startsWith(`${candidate}/`));
  const cors = prefix !== DELIVERY_PREFIXES.noCors;
  const headers: Record<string, string> = cors
    ? { 'access-control-allow-origin': '*', 'cross-origin-resource-policy': 'cross-origin' }
    : {};

  if (request.method === 'OPTIONS') {
    response.writeHead(204, { ...headers, 'access-control-allow-methods': 'GET, HEAD', 'access-control-allow-headers': '*' });
    response.end();
    return;
  }

  if (prefix === DELIVERY_PREFIXES.html) return send(response, 200, { ...headers, 'content-type': 'text/html; charset=utf-8' }, HTML_PAGE);
  if (prefix === DELIVERY_PREFIXES.htmlBytes) return send(response, 200, { ...headers, 'content-type': 'application/octet-stream' }, HTML_PAGE);
  if (prefix === DELIVERY_PREFIXES.lfsPointer) return send(response, 200, { ...headers, 'content-type': 'application/octet-stream' }, LFS_POINTER);
  if (prefix === DELIVERY_PREFIXES.gated) return send(response, 401, { ...headers, 'content-type': 'text/plain' }, 'Access to this model is restricted.');

  const repoPath = prefix === undefined ? path : path.slice(prefix.length);
  const match = /^\/([^/]+\/[^/]+)\/(resolve|blob)\/main\/(.+)$/.exec(repoPath);
  if (match === null) return send(response, 404, { ...headers, 'content-type': 'text/plain' }, 'Entry not found');
  const [, hubId, kind, filePath] = match;
  if (kind === 'blob') return send(response, 200, { ...headers, 'content-type': 'text/html; charset=utf-8' }, HTML_PAGE);

  const file = repos.get(hubId)?.get(filePath);
  if (file === undefined) return send(response, 404, { ...headers, 'content-type': 'text/plain' }, 'Entry not found');
  const contentType = filePath.endsWith('.json') ? 'application/json' : 'application/octet-stream';

  switch (prefix) {
    case DELIVERY_PREFIXES.chunked:
      // Named explicitly, because with `connection: close` Node would otherwise end the body by closing.
      response.writeHead(200, { ...headers, 'content-type': contentType, 'transfer-encoding': 'chunked' });
      writeChunks(response, file, () => response.end());
      return;
    case DELIVERY_PREFIXES.cutBody: {
      const half = file.subarray(0, Math.floor(file.byteLength / 2));
      response.writeHead(200, { ...headers, 'content-type': contentType, 'content-length': String(file.byteLength) });
      writeChunks(response, half, () => response.destroy());
      return;
    }
    case DELIVERY_PREFIXES.gzip:
      return send(response, 200, { ...headers, 'content-type': contentType, 'content-encoding': 'gzip' }, gzipSync(file));
    case DELIVERY_PREFIXES.cutChunked:
      // Node's fetch takes a close as the end of a chunked body when the response has `connection: close`.
      response.removeHeader('connection');
      response.writeHead(200, { ...headers, 'content-type': contentType, 'transfer-encoding': 'chunked' });
      writeChunks(response, file.subarray(0, Math.floor(file.byteLength / 2)), () => response.destroy());
      return;
    case DELIVERY_PREFIXES.shortBody:
      return send(response, 200, { ...headers, 'content-type': contentType }, file.subarray(0, Math.floor(file.byteLength / 2)));
    default:
      return send(response, 200, { ...headers, 'content-type': contentType }, file);
  }
}

function send(response: ServerResponse, status: number, headers: Record<string, string>, body: string | Uint8Array): void {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  response.writeHead(status, { ...headers, 'content-length': String(bytes.byteLength) });
  writeChunks(response, bytes, () => response.end());
}

function writeChunks(response: ServerResponse, bytes: Uint8Array, done: () => void): void {
  if (bytes.byteLength === 0) return done();
  for (let offset = 0; offset < bytes.byteLength; offset += WRITE_CHUNK_BYTES) {
    const last = offset + WRITE_CHUNK_BYTES >= bytes.byteLength;
    // `done` runs once the last write is flushed, so a cut-off body really arrives before the reset.
    response.write(bytes.subarray(offset, offset + WRITE_CHUNK_BYTES), last ? () => done() : undefined);
  }
}
