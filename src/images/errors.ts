import { BzzzError } from '../util/errors.js';

/** The step of an image build that failed (named in the message so the user knows where to look). */
export type BuildStep = 'prepare' | 'mmdebstrap' | 'import' | 'stage' | 'build';

/**
 * Building one image failed. The message names the image, the step, what went wrong and what to
 * do about it; `cause` keeps the underlying error.
 */
export class ImageBuildError extends BzzzError {
  constructor(
    readonly image: string,
    readonly step: BuildStep,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot build ${image}: ${step} failed: ${detail}`, options);
  }
}
