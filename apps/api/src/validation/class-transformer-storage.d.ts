/** class-transformer's metadata (which properties a @Type converts), at the path its CommonJS build has it. */
declare module 'class-transformer/cjs/storage' {
  export * from 'class-transformer/types/storage';
}
