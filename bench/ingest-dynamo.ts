export async function runAgainstLocalStack(..._args: unknown[]): Promise<void> { console.log("(local stack part not written yet)"); }
