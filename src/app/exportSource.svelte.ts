/**
 * The source of an ONNX export, as the page edits it: a hub id and variant, a URL, local files or an
 * entry of the app's manifest. It builds the request that the worker loads.
 */
import { DEFAULT_HUB_BASE_URL, parseHubId, type ModelRequest, type OnnxVariant } from '../models/modelSources';
import type { Manifest } from '../models/manifest';
import { InvalidSettingError } from './validateSettings';

export type ModelSourceKind = 'builtin' | 'hub' | 'url' | 'file' | 'manifest';

export class ExportSourceState {
  kind = $state<ModelSourceKind>('builtin');
  hubId = $state('');
  variant = $state<OnnxVariant>('model');
  /** Base URL of the model hub; a setting, so that a mirror or a local server can stand in for huggingface.co. */
  hubBaseUrl = $state(DEFAULT_HUB_BASE_URL);
  url = $state('');
  /** The .onnx file and any external data files dropped next to it. */
  files = $state.raw<File[]>([]);
  manifest = $state.raw<Manifest | null>(null);
  manifestEntryId = $state('');

  /**
   * Returns the worker request for the chosen source. Throws InvalidSettingError naming the empty or
   * invalid field, before anything is downloaded.
   */
  request(pageUrl: string): ModelRequest {
    switch (this.kind) {
      case 'hub': {
        const hubId = this.hubId.trim();
        if (hubId === '') throw new InvalidSettingError('Hub model id is empty. Enter an id such as Xenova/esm2_t6_8M_UR50D.');
        try {
          parseHubId(hubId);
        } catch (error) {
          throw new InvalidSettingError(error instanceof Error ? error.message : String(error));
        }
        return { kind: 'hub', hubId, variant: this.variant, hubBaseUrl: this.hubBaseUrl.trim() || DEFAULT_HUB_BASE_URL };
      }
      case 'url': {
        const url = this.url.trim();
        if (!/^https?:\/\//i.test(url)) throw new InvalidSettingError(`Model URL "${url}" is not an http(s) URL. Enter the full address of an .onnx file.`);
        return { kind: 'url', url };
      }
      case 'file': {
        if (this.files.length === 0) throw new InvalidSettingError('No model file is chosen. Drop an .onnx file (and its external data files) on the model panel, or pick them.');
        return { kind: 'file', files: this.files.map((file) => ({ name: file.name, blob: file })) };
      }
      case 'manifest': {
        const entry = this.manifest?.models.find((model) => model.id === this.manifestEntryId);
        if (!entry) throw new InvalidSettingError('No model served with the app is chosen. Pick one from the list, or list your exports in public/models/manifest.json.');
        return { kind: 'manifest', entry, baseUrl: new URL('models/', pageUrl).href };
      }
      case 'builtin':
        throw new InvalidSettingError('A built-in model is chosen, which the worker generates instead of loading.');
    }
  }

  /** Returns a short name of the chosen source, for status lines. */
  describe(): string {
    switch (this.kind) {
      case 'hub':
        return `${this.hubId.trim()} (${this.variant})`;
      case 'url':
        return this.url.trim();
      case 'file':
        return this.files.find((file) => file.name.endsWith('.onnx'))?.name ?? this.files[0]?.name ?? 'no file';
      case 'manifest':
        return this.manifestEntryId;
      case 'builtin':
        return 'built-in model';
    }
  }
}
