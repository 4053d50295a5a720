/** Build-time constants that vite.config.ts defines. */
declare const __APP_VERSION__: string;
declare const __ORT_VERSION__: string;
