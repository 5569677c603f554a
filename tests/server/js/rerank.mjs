// The Portkey JS SDK as a client of `unified-rerank serve` (the shared document's Self-Hosted
// sample): prints the answer as JSON. Run by tests/server/test_clients.py.
// Named import: in plain Node ESM the default export of this CommonJS package is its exports object.
import { Portkey } from 'portkey-ai';

const client = new Portkey({
  apiKey: process.env.GATEWAY_KEY,
  virtualKey: 'co',
  baseURL: process.env.SERVER_URL,
});

const response = await client.post('/rerank', {
  model: 'rerank-v3.5',
  query: 'What is the capital of France?',
  documents: [
    'Paris is the capital of France.',
    'Berlin is the capital of Germany.',
    'Madrid is the capital of Spain.',
  ],
  top_n: 2,
});
process.stdout.write(JSON.stringify(response));
