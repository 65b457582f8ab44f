import fc from "fast-check";

/**
 * The seed of every property's fixed pass. A fixed pass reproduces the same cases on every CI
 * run, so a bug it once found stays found; the random pass after it keeps exploring. When a
 * random pass fails, fast-check prints its seed and path: rerun with them to reproduce.
 */
export const FIXED_SEED = 20_261_201;

type Params<T> = Omit<fc.Parameters<T>, "seed" | "path">;

/** Runs `property` once with FIXED_SEED (and the fixed examples) and once with a random seed. */
export async function assertProperty<T>(
  property: fc.IAsyncPropertyWithHooks<T> | fc.IPropertyWithHooks<T>,
  params: Params<T> & { numRuns: number; fixedRuns?: number },
): Promise<void> {
  const { fixedRuns, examples, ...rest } = params;
  await fc.assert(property as fc.IAsyncPropertyWithHooks<T>, {
    ...rest,
    numRuns: fixedRuns ?? params.numRuns,
    seed: FIXED_SEED,
    ...(examples ? { examples } : {}),
  });
  await fc.assert(property as fc.IAsyncPropertyWithHooks<T>, rest);
}
