import { corsHeaders, parseCorsOrigins } from '../../lib/http/cors';
import { startHttpApi } from '../../local/http';

describe('CORS origins', () => {
  it('takes a comma-separated list of origins, and refuses * and anything that is not an origin, naming it', () => {
    expect(parseCorsOrigins(undefined)).toEqual([]);
    expect(parseCorsOrigins(' https://shop.example.com, https://m.shop.example.com:8443 ,http://localhost:5173')).toEqual([
      'https://shop.example.com',
      'https://m.shop.example.com:8443',
      'http://localhost:5173',
    ]);
    expect(() => parseCorsOrigins('*')).toThrow(/"\*" is not allowed/);
    for (const bad of ['http://shop.example.com', 'https://shop.example.com/', 'https://Shop.example.com', 'shop.example.com', 'https://shop.example.com/path', 'https://*.example.com']) {
      expect(() => parseCorsOrigins(bad)).toThrow(`"${bad}" is not an origin`);
    }
  });

  it('answers only a configured origin, and a preflight with the methods, headers and how long to remember them', () => {
    const origins = ['https://shop.example.com'];
    expect(corsHeaders('https://evil.example.net', origins, true)).toEqual({});
    expect(corsHeaders(undefined, origins, false)).toEqual({});
    expect(corsHeaders('https://shop.example.com', origins, false)).toEqual({ 'access-control-allow-origin': 'https://shop.example.com', vary: 'origin' });
    expect(corsHeaders('https://shop.example.com', origins, true)).toMatchObject({
      'access-control-allow-methods': 'GET,POST,PUT,DELETE',
      'access-control-allow-headers': 'authorization,content-type,content-encoding,x-api-key',
      'access-control-max-age': '86400',
    });
  });
});

describe('CORS in the local stack', () => {
  it('answers a preflight from a configured origin, and adds the origin to answers to it only', async () => {
    const answer = async () => ({ statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' });
    const api = await startHttpApi({ collect: answer, profiles: answer, decide: answer, privacy: answer, campaigns: answer }, { port: 0, corsOrigins: ['https://shop.example.com'] });
    try {
      const preflight = await fetch(`${api.url}/v1/batch`, { method: 'OPTIONS', headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST' } });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
      expect(preflight.headers.get('access-control-allow-headers')).toContain('authorization');
      const other = await fetch(`${api.url}/v1/batch`, { method: 'OPTIONS', headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'POST' } });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();
      const post = await fetch(`${api.url}/v1/batch`, { method: 'POST', headers: { origin: 'https://shop.example.com' }, body: '{}' });
      expect(post.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
      const elsewhere = await fetch(`${api.url}/v1/batch`, { method: 'POST', headers: { origin: 'https://evil.example.net' }, body: '{}' });
      expect(elsewhere.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await api.close();
    }
  });
});
