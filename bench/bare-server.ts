import express from "express";

// The baseline: an express 5 app that reads the body and answers 200, doing nothing else.
const app = express();
app.post("/webhooks/instagram", express.raw({ type: () => true, limit: "1mb" }), (_req, res) => {
  res.status(200).type("text/plain").send("EVENT_RECEIVED");
});
const server = app.listen(Number(process.env.PORT ?? 0), () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === "object" && address ? address.port : ""}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
