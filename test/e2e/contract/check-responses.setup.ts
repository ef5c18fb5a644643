import { RecordedResponse, recordHttpResponses } from '@app/testing';
import { OpenApiContract } from './openapi-contract';

/**
 * The e2e contract check (jest setupFilesAfterEnv of the e2e project): every response an e2e spec
 * receives through http() is recorded, and when the spec file ends each one is checked against the
 * OpenAPI document served by the process that answered it. The document is read the first time
 * that process answers, before http() returns; a process without /docs-json (a worker) is not
 * checked. A response the document does not describe fails the spec file.
 */
const recorded: RecordedResponse[] = [];
/** By origin: the document it serves, null when it serves none (not an api), or why it could not be read. */
const documents = new Map<string, Promise<Record<string, any> | null | Error>>();

async function fetchDocument(origin: string): Promise<Record<string, any> | null | Error> {
  try {
    const res = await fetch(`${origin}/docs-json`, { signal: AbortSignal.timeout(10_000) });
    if (res.status === 404) return null;
    if (!res.ok) return new Error(`${origin}/docs-json answered ${res.status}`);
    return (await res.json()) as Record<string, any>;
  } catch (error) {
    return new Error(`${origin}/docs-json could not be read: ${(error as Error).message}`);
  }
}

beforeAll(() => {
  recordHttpResponses(async (response) => {
    recorded.push(response);
    const { origin } = new URL(response.url);
    if (!documents.has(origin)) {
      documents.set(origin, fetchDocument(origin));
      // Read before the spec goes on: it may stop that process right after this response.
      await documents.get(origin);
    }
  });
});

afterAll(async () => {
  recordHttpResponses(undefined);
  const contracts = new Map<string, OpenApiContract | null | Error>();
  for (const [origin, document] of documents) {
    const value = await document;
    contracts.set(origin, value === null || value instanceof Error ? value : new OpenApiContract(value));
  }
  const problems: string[] = [];
  for (const response of recorded) {
    const contract = contracts.get(new URL(response.url).origin);
    if (contract instanceof Error) problems.push(contract.message);
    else if (contract) problems.push(...contract.check(response));
  }
  expect([...new Set(problems)]).toEqual([]);
});
