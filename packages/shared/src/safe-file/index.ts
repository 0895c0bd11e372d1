// '@otpknock/shared/safe-file': the one place client and server touch files that
// matter, one module per I/O policy — atomic durable writes with a mode, private
// reads of secret files, and the lock file of small stores. The rest of
// @otpknock/shared stays pure.
export {
  writeFileAtomic,
  writeFileAtomicSync,
  syncDirectory,
  syncDirectorySync,
  type AtomicWriteOptions,
} from './atomic-write.js';
export {
  readFileInfo,
  readFileInfoSync,
  privateFileProblem,
  privateOwners,
  octalMode,
  type FileInfo,
  type PrivateFileProblem,
  type PrivateFileRule,
} from './private-read.js';
export { withFileLock, type FileLockOptions } from './file-lock.js';
