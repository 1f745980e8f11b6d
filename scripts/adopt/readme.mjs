export async function readmeBlocks() {}
