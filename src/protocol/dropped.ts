/** Records features a translation leaves out on purpose, each named once. */
export class DroppedFeatures {
  private readonly names = new Set<string>();

  add(name: string): void {
    this.names.add(name);
  }

  list(): string[] {
    return [...this.names];
  }
}
