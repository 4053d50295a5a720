/**
 * The manifest of ONNX models served with the app, `public/models/manifest.json`. Users copy their
 * exports under `public/models/` and list them here, and the model picker offers them next to the
 * built-in models. Every path is relative to the folder of manifest.json.
 */
import * as v from 'valibot';
import { ModelSourceError } from './modelSourceError';

/**
 * File names of the ONNX variants in the transformers.js layout, without the `onnx/` folder and
 * `.onnx`. They are defined here, and re-exported by modelSources.ts, so that a page that reads the
 * manifest does not bundle the loader and its protobuf decoder.
 */
export type OnnxVariant = 'model' | 'model_fp16' | 'model_quantized';

export const ONNX_VARIANTS: readonly OnnxVariant[] = Object.freeze(['model', 'model_fp16', 'model_quantized']);

/** Path of the manifest relative to the app's root, where Vite serves the `public/` folder. */
export const MANIFEST_PATH = 'models/manifest.json';

/**
 * Returns whether `path` stays inside the manifest's folder: relative, without a scheme, a leading
 * slash, a backslash or a '..' segment.
 */
function isRelativeInsideFolder(path: string): boolean {
  if (path.length === 0 || path.startsWith('/') || path.includes('\\') || /^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) return false;
  return !path.split('/').includes('..');
}

const RELATIVE_PATH = 'expected a relative path inside public/models, such as "esm2_t6_8M/onnx/model.onnx"';

function relativePath(message: string = RELATIVE_PATH) {
  return v.pipe(v.string(message), v.check(isRelativeInsideFolder, message));
}

const ManifestEntrySchema = v.object(
  {
    /** Unique id, used as the result's model.id. */
    id: v.pipe(
      v.string('expected a string id'),
      v.regex(/^[A-Za-z0-9][\w.-]*$/, 'expected an id of letters, digits, "_", "-" and ".", starting with a letter or digit'),
    ),
    /** Name in the model picker. */
    label: v.pipe(v.string('expected a string label'), v.nonEmpty('expected a non-empty label')),
    /** The .onnx file, relative to the folder of manifest.json. */
    path: v.pipe(relativePath(), v.endsWith('.onnx', 'expected the path of an .onnx file')),
    /** Export variant of the file, for display. */
    variant: v.optional(v.picklist(ONNX_VARIANTS, `expected one of ${ONNX_VARIANTS.map((variant) => `"${variant}"`).join(', ')}`)),
    /**
     * External data files as the model names them, relative to the .onnx file's folder. The loader
     * fetches what the model references, and warns about listed files that it does not reference.
     */
    externalData: v.optional(v.array(relativePath('expected a file name or relative path'), 'expected an array of file names')),
    /** The model's Hugging Face config.json, relative to the folder of manifest.json. */
    config: v.optional(v.pipe(relativePath(), v.endsWith('.json', 'expected the path of a config.json file'))),
    /** Model family, for exports without a config.json that identifies it. */
    family: v.optional(v.picklist(['esm2', 'dnabert'], 'expected "esm2" or "dnabert"')),
  },
  'expected an object',
);

const ManifestSchema = v.pipe(
  v.object({ models: v.array(ManifestEntrySchema, 'expected an array of models') }, 'expected an object with a "models" array'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const seen = new Set<string>();
    dataset.value.models.forEach((entry, index) => {
      if (seen.has(entry.id)) {
        addIssue({
          message: `expected a unique id, but "${entry.id}" appears twice`,
          path: [
            { type: 'object', origin: 'value', input: dataset.value, key: 'models', value: dataset.value.models },
            { type: 'array', origin: 'value', input: dataset.value.models, key: index, value: entry },
            { type: 'object', origin: 'value', input: entry, key: 'id', value: entry.id },
          ],
        });
      }
      seen.add(entry.id);
    });
  }),
);

/** One model in the manifest. */
export type ManifestEntry = v.InferOutput<typeof ManifestEntrySchema>;
export type Manifest = v.InferOutput<typeof ManifestSchema>;

/**
 * Validates parsed manifest JSON. Throws ModelSourceError 'invalid-manifest', whose message lists each
 * problem with its field, such as `models[1].path`. Unknown keys are dropped.
 */
export function parseManifest(json: unknown, sourceName = 'manifest.json'): Manifest {
  const result = v.safeParse(ManifestSchema, json);
  if (result.success) return result.output;

  // valibot reports a missing key with the message of the object around it, so those get their own text.
  const problems = result.issues.map((issue) => {
    const missing = issue.input === undefined && issue.path !== undefined && issue.path.length > 0;
    return `${formatPath(issue.path)}: ${missing ? 'missing' : issue.message}`;
  });
  throw new ModelSourceError(
    'invalid-manifest',
    `${sourceName} is invalid:\n${problems.map((problem) => `  ${problem}`).join('\n')}\n` +
      'Fix these fields. public/models/README.md describes the format.',
    { fileName: sourceName, names: problems },
  );
}

/**
 * Fetches and validates the manifest at `url`. A 404 gives an empty manifest, because an app served
 * without the file simply has no extra models. Throws ModelSourceError 'invalid-manifest' for a body
 * that is not JSON or fails the schema, and 'http' or 'network' when the request fails.
 */
export async function fetchManifest(url: string, options: { fetch?: typeof fetch; signal?: AbortSignal } = {}): Promise<Manifest> {
  const fetchFn = options.fetch ?? ((input, init) => fetch(input, init));
  let response: Response;
  try {
    response = await fetchFn(url, { signal: options.signal });
  } catch (error) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw new ModelSourceError(
      'network',
      `Failed to fetch the model manifest ${url}: ${error instanceof Error ? error.message : String(error)}. Reload the page to try again.`,
      { url },
      { cause: error },
    );
  }
  if (response.status === 404) return { models: [] };
  if (!response.ok) {
    throw new ModelSourceError('http', `Failed to fetch the model manifest ${url} (HTTP ${response.status}). Reload the page to try again.`, {
      url,
      status: response.status,
    });
  }

  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ModelSourceError(
      'invalid-manifest',
      `${url} is not valid JSON (${error instanceof Error ? error.message : String(error)}). Fix public/models/manifest.json.`,
      { url },
      { cause: error },
    );
  }
  return parseManifest(parsed, url);
}

/** Formats an issue path as in JavaScript source, such as `models[1].path`. The root is `(manifest)`. */
function formatPath(path: readonly v.IssuePathItem[] | undefined): string {
  if (!path || path.length === 0) return '(manifest)';
  let formatted = '';
  for (const item of path) {
    const key = item.key;
    if (typeof key === 'number') formatted += `[${key}]`;
    else formatted += formatted ? `.${String(key)}` : String(key);
  }
  return formatted;
}
