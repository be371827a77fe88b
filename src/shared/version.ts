// The release version, used to tag the images a bottle builds so that a cached image is
// reused by Compose instead of rebuilt on every `up`. Kept equal to package.json by a test.
export const VERSION = "0.1.0";
