/** The web UI's entry: styles, link handling and the app, mounted into index.html's #app. */
import { render } from 'preact';
import { App } from './app.js';
import { interceptLinks } from './router.js';
import './styles.css';

const root = document.getElementById('app');
if (root) {
  root.textContent = '';
  interceptLinks(document.body);
  render(<App />, root);
}
