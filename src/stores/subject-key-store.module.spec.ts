import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppConfig, loadConfig } from '../config/app-config';
import { SUBJECT_KEY_STORE, type SubjectKeyStore } from '../event-sourcing/personal-data/key-store';
import { freshSchemaUrl } from '../../test/support/postgres';
import { PostgresSubjectKeyStore } from './keys/postgres-subject-key-store';
import { SqliteSubjectKeyStore } from './keys/sqlite-subject-key-store';
import {
  SubjectKeyStoreModule,
  createSubjectKeyStore,
  openExistingSubjectKeyStore,
} from './subject-key-store.module';

describe('SubjectKeyStoreModule', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'key-module-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('opens the adapter KEY_STORE names, SQLite in its own file in DATA_DIR', async () => {
    const sqlite = createSubjectKeyStore(loadConfig({ DATA_DIR: dir }));
    expect(sqlite).toBeInstanceOf(SqliteSubjectKeyStore);
    expect(existsSync(join(dir, 'keys.sqlite'))).toBe(true);
    await sqlite.close();
    const postgres = createSubjectKeyStore(
      loadConfig({
        DATA_DIR: dir,
        KEY_STORE: 'postgres',
        // Nothing listens here: the schema set-up fails, and only a call would report it.
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
      }),
    );
    expect(postgres).toBeInstanceOf(PostgresSubjectKeyStore);
    await postgres.close();
  });

  it('opens an existing key store only, creating nothing where there is none', async () => {
    const sqlite = loadConfig({ DATA_DIR: dir });
    expect(await openExistingSubjectKeyStore(sqlite)).toBeUndefined();
    expect(readdirSync(dir)).toEqual([]);
    const created = createSubjectKeyStore(sqlite);
    const secret = await created.pseudonymSecret();
    await created.close();
    const existing = await openExistingSubjectKeyStore(sqlite);
    expect((await existing?.existingPseudonymSecret())?.equals(secret)).toBe(true);
    await existing?.close();

    const postgres = loadConfig({
      DATA_DIR: dir,
      KEY_STORE: 'postgres',
      DATABASE_URL: await freshSchemaUrl(),
    });
    expect(await openExistingSubjectKeyStore(postgres)).toBeUndefined();
    const made = createSubjectKeyStore(postgres);
    await made.ping();
    await made.close();
    const found = await openExistingSubjectKeyStore(postgres);
    expect(found).toBeInstanceOf(PostgresSubjectKeyStore);
    expect(await found?.existingPseudonymSecret()).toBeUndefined();
    await found?.close();
  });

  it('provides SUBJECT_KEY_STORE to the app and closes it on shutdown', async () => {
    const config = loadConfig({ DATA_DIR: dir });
    @Module({
      imports: [
        {
          module: class ConfigHolder {},
          global: true,
          providers: [{ provide: AppConfig, useValue: config }],
          exports: [AppConfig],
        },
        SubjectKeyStoreModule,
      ],
    })
    class Root {}
    const app = await NestFactory.createApplicationContext(Root, { logger: false });
    const store = app.get<SubjectKeyStore>(SUBJECT_KEY_STORE);
    expect(await store.pseudonymSecret()).toHaveLength(32);
    await app.close();
    await expect(store.ping()).rejects.toBeInstanceOf(Error);
  });
});
