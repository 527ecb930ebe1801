// aptly's task API: any write may run in the background with ?_async=true (202 + task ID),
// then be waited for and its output and return value read.

import { Invalid, NotFound, type DomainError } from '../model/errors.js';

export const TaskState = { idle: 0, running: 1, succeeded: 2, failed: 3 } as const;

export interface TaskResult {
  code: number;
  value: unknown;
  /** What GET /api/tasks/:id/detail shows (aptly: progress counters of a publish). */
  detail?: unknown;
}

export interface Task {
  id: number;
  name: string;
  state: number;
  output: string[];
  result?: TaskResult;
  /** Progress while the task runs (aptly's PublishDetail counters); the result's detail wins once it ends. */
  detail?: unknown;
  done: Promise<void>;
}

/** What a task's work is given: a line of output, and the progress GET …/detail shows while it runs. */
export interface TaskIo {
  out: (line: string) => void;
  progress: (detail: unknown) => void;
}

export class Tasks {
  private readonly tasks = new Map<number, Task>();
  private next = 1;

  /** `failureCode`: the return code a failed task records (the API's status for the error). */
  start(name: string, work: (out: (line: string) => void, io: TaskIo) => Promise<TaskResult>, failureCode: (err: unknown) => number = () => 500): Task {
    const task: Task = { id: this.next++, name, state: TaskState.running, output: [], done: Promise.resolve() };
    const io: TaskIo = {
      out: (line) => void task.output.push(line),
      progress: (detail) => {
        task.detail = detail;
      },
    };
    task.done = work(io.out, io).then(
      (r) => {
        task.result = r;
        // As aptly: a task that returns (whatever its code) succeeded; one that throws failed.
        // The last output line says which (aptly's task list writes the same words).
        task.output.push('Task succeeded');
        task.state = TaskState.succeeded;
      },
      (err: unknown) => {
        const status = failureCode(err);
        // As aptly: no value, the error is in the output.
        task.result = { code: status, value: null };
        task.output.push(`Task failed with error: ${(err as Error).message}`);
        task.state = TaskState.failed;
      },
    );
    this.tasks.set(task.id, task);
    return task;
  }

  get(id: number, Missing: new (m: string) => DomainError = NotFound): Task {
    const t = this.tasks.get(id);
    if (!t) throw new Missing(`task with id ${id} not found`);
    return t;
  }

  list(): Task[] {
    return [...this.tasks.values()];
  }

  /** aptly answers 400 for an unknown or still running task. */
  delete(id: number): Task {
    const t = this.get(id, Invalid);
    if (t.state === TaskState.running) throw new Invalid(`task with id ${id} is still running`);
    this.tasks.delete(id);
    return t;
  }

  /** Drops finished tasks (POST /api/tasks-clear). */
  clear(): void {
    for (const [id, t] of this.tasks) if (t.state !== TaskState.running) this.tasks.delete(id);
  }

  async waitAll(): Promise<void> {
    await Promise.all([...this.tasks.values()].map((t) => t.done));
  }
}
