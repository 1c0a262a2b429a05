import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The server sends a strict Content-Security-Policy for console files (script-src 'self', style-src 'self'):
// the build must not emit inline scripts or styles, so CSS goes to a file and the modulepreload polyfill is off.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2020',
  },
  server: {
    // `npm run dev` proxies the API to a server started with `c19ai serve` (default port 8080).
    proxy: {
      '/api': { target: 'http://127.0.0.1:8080', ws: true },
      '/ready': 'http://127.0.0.1:8080',
      '/health': 'http://127.0.0.1:8080',
      '/metrics': 'http://127.0.0.1:8080',
    },
  },
});
