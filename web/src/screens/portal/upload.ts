/**
 * The invoice goes straight to S3 with the presigned POST the API grants: the policy's fields first,
 * the file last (S3 ignores fields after it). XMLHttpRequest rather than fetch: only it reports upload
 * progress.
 */
export interface UploadGrant {
  url: string;
  fields: Record<string, string>;
}

export class UploadRefused extends Error {
  override name = 'UploadRefused';
}

/** S3's XML error → plain words. */
function s3Reason(status: number, body: string): string {
  const code = /<Code>([^<]+)<\/Code>/.exec(body)?.[1];
  if (code === 'EntityTooLarge') return 'The file is larger than allowed (10 MB at most).';
  if (code === 'AccessDenied' && /expired/i.test(body)) return 'The upload link expired. Please try again.';
  if (code === 'AccessDenied' || code === 'InvalidPolicyDocument')
    return 'The storage refused the file (its type or size does not match what is allowed).';
  return `The upload failed (storage answered ${status}${code ? `, ${code}` : ''}).`;
}

export function uploadFile(
  grant: UploadGrant,
  file: File,
  onProgress: (fraction: number) => void,
): Promise<void> {
  const form = new FormData();
  for (const [name, value] of Object.entries(grant.fields)) form.append(name, value);
  form.append('file', file);
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', grant.url);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      if (request.status >= 200 && request.status < 300) {
        onProgress(1);
        resolve();
      } else reject(new UploadRefused(s3Reason(request.status, request.responseText)));
    };
    request.onerror = () =>
      reject(new UploadRefused('The upload could not reach the storage. Check your connection.'));
    request.send(form);
  });
}
