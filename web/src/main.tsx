import { render } from 'preact';
import { initApi } from './api/client.ts';
import { App } from './app.tsx';
import { loadConfig } from './config.ts';
import './styles.css';

const root = document.getElementById('app') as HTMLElement;
try {
  const config = await loadConfig();
  initApi(config.apiUrl);
  render(<App config={config} />, root);
} catch (error) {
  root.textContent = `The console could not start: ${error instanceof Error ? error.message : String(error)}`;
}
