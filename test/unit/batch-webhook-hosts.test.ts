import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { webhookRefusal } from '../../src/batch/webhook-hosts.js';

describe('batch webhook hosts a client may name', () => {
  const allowed = ['hooks.example.com', '*.internal.example.org'];

  it('accepts http(s) URLs on an allowed host or a subdomain of an allowed wildcard', () => {
    for (const url of ['https://hooks.example.com/batch', 'http://HOOKS.example.com:8080/x', 'https://a.internal.example.org/', 'https://b.c.internal.example.org/']) {
      assert.equal(webhookRefusal(url, allowed), undefined, url);
    }
  });

  it('refuses loopback, metadata, look-alike hosts, other schemes and anything when none are allowed', () => {
    for (const url of [
      'http://127.0.0.1/hook',
      'http://localhost:6379/',
      'http://[::1]/',
      'http://169.254.169.254/latest',
      'https://hooks.example.com.evil.net/',
      'https://evilhooks.example.com/',
      'https://internal.example.org/',
      'ftp://hooks.example.com/',
      'not a url',
    ]) {
      assert.notEqual(webhookRefusal(url, allowed), undefined, url);
    }
    assert.match(webhookRefusal('https://hooks.example.com/', [])!, /batches\.webhook_hosts/);
  });
});
