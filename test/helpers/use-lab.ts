import { afterAll, beforeAll } from 'vitest';
import { assertBuilt } from './lab-config.js';
import { Lab } from './netns.js';

/**
 * The Lab of a describe block: created (after checking that the CLI is built) before its tests and
 * cleaned up after them, also when they fail. Returns a getter: the Lab exists once beforeAll ran.
 */
export function useLab(options?: Parameters<typeof Lab.create>[0]): () => Lab {
  let lab: Lab | undefined;
  beforeAll(async () => {
    assertBuilt();
    lab = await Lab.create(options);
  });
  afterAll(async () => {
    await lab?.cleanup();
  });
  return () => {
    if (!lab) throw new Error('the lab is not created yet (useLab() gives it to tests, not to describe bodies)');
    return lab;
  };
}
